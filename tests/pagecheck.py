"""Checks run on pages in the browser tests: the Content-Security-Policy a response carries, the
policy violations a page reports, and axe-core's accessibility findings."""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chat_embed.matrix import MatrixClient
from chat_embed.provisioning import Provisioner
from sessions.models import Conference, Room, Talk, Track
from tests import factories

AXE = Path(__file__).parent / "js" / "node_modules" / "axe-core" / "axe.min.js"


def csp_directives(response) -> dict[str, str]:
    """The Content-Security-Policy header of a Django test response or a Playwright response, by directive."""
    headers = {name.lower(): value for name, value in response.headers.items()}  # Playwright lowercases them
    header = headers.get("content-security-policy", "")
    directives = {}
    for part in header.split(";"):
        name, _, sources = part.strip().partition(" ")
        if name:
            assert name not in directives, f"{name} appears twice in {header!r}"
            directives[name] = sources.strip()
    return directives


# --- A small conference and its people, each with a logged-in browser context ------------------

PHONE = {"width": 390, "height": 844}
PERSONAS = ("attendee", "speaker", "organiser", "guest")


@dataclass
class World:
    """One conference built for the page checks: a session room and a public town hall, each with a
    talk on now (the speaker persona speaks in Hall A), a private room nobody here may enter, and the
    Matrix rooms of every room provisioned on the test homeserver."""

    live_server: object
    conference: Conference
    hall: Room
    townhall: Room
    private: Room
    talk: Talk
    track: Track
    people: dict[str, User | None] = field(default_factory=dict)

    def url(self, name: str, *args) -> str:
        return self.live_server.url + reverse(name, args=args)

    def day_url(self) -> str:
        day = timezone.localtime(self.talk.start, self.conference.tz).date()  # days follow the conference's calendar
        return self.url("schedule_day", day.isoformat())


def build_world(live_server, synapse, registered: tuple[tuple[str, str], ...] = ()) -> World:
    """`registered`: (email, regcode) of people imported into the attendee table, who log in with the form."""
    # The cache outlives each test's database: meetings created and guest mode set by an earlier test.
    cache.clear()
    tag = uuid.uuid4().hex[:8]
    domain = f"{tag}.example.org"
    conference = factories.conference(name="Plumbers <Conf>", timezone="Europe/Dublin")
    kernel = factories.track("Kernel Summit", colour="#1f6feb", matrix_room=f"k{tag}")
    factories.track("Toolchains", colour="#b35900", matrix_room="")
    hall = factories.room("hall-a", "Hall A", moderator_emails=[f"hall.mod@{domain}"])
    townhall = factories.room("town-hall", "Town Hall", kind=Room.Kind.PUBLIC)
    private = factories.room("board", "Board room", kind=Room.Kind.PRIVATE, moderator_emails=[f"chair@{domain}"])
    now = timezone.now()
    talk = factories.talk(
        hall,
        now - timedelta(minutes=20),
        now + timedelta(minutes=40),
        title="Scheduling <fun>",
        track=kernel,
        speaker_names=["Linus Speaker"],
        speaker_emails=[f"speaker@{domain}"],
        abstract="How the scheduler picks the next task.",
    )
    factories.talk(hall, now + timedelta(minutes=50), now + timedelta(minutes=90), title="Next up", track=kernel)
    factories.talk(townhall, now - timedelta(minutes=30), now + timedelta(minutes=90), title="Town hall")
    factories.talk(private, now - timedelta(minutes=30), now + timedelta(minutes=90), title="Board meeting")
    people: dict[str, User | None] = {
        "attendee": factories.person(f"attendee@{domain}", first_name="Ada", last_name="Attendee"),
        "speaker": factories.person(f"speaker@{domain}", role="speaker", first_name="Linus", last_name="Speaker"),
        "organiser": factories.person(f"organiser@{domain}", role="organiser", first_name="Olga", last_name="Org"),
        "guest": None,
    }
    for email, code in registered:
        factories.import_attendee(email, code, first_name="Kim", last_name="Keys")
    client = MatrixClient(synapse.url, synapse.admin_token, timeout=10)
    report = Provisioner(client, synapse.server_name, join_mode="on_open").run()
    assert report.failures == []
    return World(live_server, conference, hall, townhall, private, talk, kernel, people)


def logged_in_context(browser, world: World, persona: str, **options):
    """A browser context holding `persona`'s session (made with Django's test client, so the pages
    under test are the only pages loaded): 'anonymous' holds none."""
    context = browser.new_context(timezone_id="America/New_York", locale="en-GB", **options)
    context.set_default_timeout(15_000)
    if persona == "anonymous":
        return context
    if persona == "guest":
        client = factories.guest_client("Visiting Guest")
    else:
        client = Client()
        client.force_login(world.people[persona])
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": world.live_server.url}])
    return context


def join_room(page, world: World, room: Room) -> None:
    """From the room page, Join, and wait until BBB (the simulator) shows in its frame and the chat is live."""
    page.goto(world.url("room", room.slug))
    # The chat's first token request may write the session (a guest's chat account); a Join sent
    # while it runs can lose its pending join to that write, as with any two concurrent requests.
    page.frame_locator("iframe.chat-frame").locator('#chat[data-state="live"]').wait_for(timeout=30_000)
    with page.expect_navigation():
        page.locator(".join-form button").click()
    meeting = page.frame_locator("iframe.bbb-frame")
    try:
        meeting.locator("[data-testid=you]").wait_for(timeout=30_000)
    except Exception as exc:
        frames = [(frame.url, frame.locator("body").inner_text()[:200]) for frame in page.frames]
        raise AssertionError(f"The meeting did not show in {page.url}: {frames}") from exc
    page.frame_locator("iframe.chat-frame").locator('#chat[data-state="live"]').wait_for(timeout=30_000)


def _post_form(page, action: str, with_token: bool = True) -> None:
    """Submit a POST form to `action` from the current page (with its CSRF token, or none)."""
    with page.expect_navigation():
        page.evaluate(
            """([action, withToken]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                const token = document.querySelector("input[name=csrfmiddlewaretoken]");
                if (withToken && token) form.append(token.cloneNode());
                document.body.append(form);
                form.submit();
            }""",
            [action, with_token],
        )


def tour(page, world: World, persona: str, check) -> list[str]:
    """Visit every page type `persona` can reach, calling check(page, label) on each; returns the labels.

    Anonymous: login, code again, admin login, not found. Logged in (and guests): now, day grid and
    list, session, track, my schedule, profile, time zone, status (organisers; a refusal for the
    others), the room after Join with the simulator's meeting framed and the chat live beside it,
    the frame after leaving, the chat page alone, the simulator's pages, a refused join, an expired
    form (CSRF failure) and not found."""
    seen: list[str] = []

    def visit(label: str, url: str | None = None) -> None:
        if url is not None:
            page.goto(url)
        check(page, label)
        seen.append(label)

    if persona == "anonymous":
        visit("login", world.url("login"))
        visit("code again", world.url("resend_code"))
        visit("admin login", world.url("admin:login"))
        visit("not found", world.live_server.url + "/no-such-page/")
        return seen
    visit("now", world.url("now"))
    visit("day grid", world.day_url())
    visit("day list", world.day_url() + "?view=list")
    visit("session", world.url("talk", world.talk.pk))
    visit("track", world.url("track", world.track.slug))
    visit("my schedule", world.url("personal"))
    visit("profile", world.url("profile"))
    visit("time zone", world.url("set_timezone"))
    visit("status", world.url("status"))
    room = world.townhall if persona == "guest" else world.hall
    join_room(page, world, room)
    visit("room with meeting and chat")
    meeting = page.frame_locator("iframe.bbb-frame")
    with page.expect_event("framenavigated"):
        meeting.get_by_role("button", name="Leave meeting").click()
    meeting.locator("[data-testid=frame-message]").wait_for()
    visit("room after leaving")
    visit("chat", world.url("chat:room", room.slug))
    page.locator('#chat[data-state="live"]').wait_for()
    visit("simulator meetings", world.live_server.url + "/bbb-simulator/bigbluebutton/")
    visit("simulator invalid session", world.live_server.url + "/bbb-simulator/bigbluebutton/client/?sessionToken=x")
    visit("used join link", world.url("room_enter", room.slug))
    page.goto(world.url("room", room.slug))
    _post_form(page, world.url("join", world.private.slug))
    visit("join refused")
    _post_form(page, world.url("set_timezone"), with_token=False)
    visit("expired form")
    visit("not found", world.live_server.url + "/no-such-page/")
    if persona == "organiser":
        visit("admin", world.url("admin:index"))
        visit("admin sessions", world.url("admin:lpc_sessions_talk_changelist"))
        visit("admin session", world.url("admin:lpc_sessions_talk_change", world.talk.pk))
        visit("admin person", world.url("admin:auth_user_change", world.people["attendee"].pk))
    return seen
