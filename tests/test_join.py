"""Joining rooms end to end: the join view's rules and roles, the room page, create-once under a
burst of clicks, BBB failures, and a real browser clicking Join.

BBB is the double (bbb_simulator) on the live server; the front end reaches it over HTTP.
"""

import re
import threading
import time
import zoneinfo
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from bbb_simulator.models import SimApiCall, SimAttendee, SimMeeting
from sessions import bbb, meetings
from sessions.joinrules import JoinDecision
from sessions.models import JoinLog, Room
from tests import factories

live = pytest.mark.django_db(transaction=True)
pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.fixture
def hall(settings):
    """Hall A: a talk running now (Linus speaking) and one next (Grace speaking)."""
    settings.SCHEDULE_JOIN_OPEN_MINUTES = 10
    settings.SCHEDULE_SPEAKER_OPEN_MINUTES = 30
    settings.LOGIN_URL = "/login/"
    factories.conference(name="Plumbers <Conf>", timezone="Europe/Dublin")
    kernel = factories.track()
    room = factories.room(slug="hall-a", name="Hall A")
    now = timezone.now()
    factories.talk(
        room,
        now - timedelta(minutes=5),
        now + timedelta(minutes=40),
        title="Scheduling <fun>",
        track=kernel,
        speaker_names=["Linus"],
        speaker_emails=["linus@example.org"],
    )
    factories.talk(
        room,
        now + timedelta(minutes=50),
        now + timedelta(minutes=90),
        title="Next up",
        speaker_emails=["grace@example.org"],
    )
    return room


# --- The room page and the single-use frame ---------------------------------------------------


@live
def test_attendee_joins_as_viewer_into_the_double(bbb_double, hall):
    ada = factories.client_for("ada@example.org", first_name="Ada", last_name="Lovelace")
    answer = ada.post("/rooms/hall-a/join/")
    assert answer.status_code == 303
    page = ada.get("/rooms/hall-a/")
    html = page.content.decode()
    assert '<iframe class="bbb-frame" src="/rooms/hall-a/enter/"' in html
    assert 'allow="camera *; microphone *; display-capture *; fullscreen *; autoplay *" allowfullscreen' in html
    assert '<iframe class="chat-frame" src="/chat/hall-a/"' in html
    assert "checksum" not in html and "/api/join" not in html  # the signed URL stays server-side
    assert page["Cache-Control"].startswith("max-age=0")

    frame = ada.get("/rooms/hall-a/enter/")
    assert frame.status_code == 302 and frame["Referrer-Policy"] == "no-referrer"
    join_url = frame["Location"]
    assert join_url.startswith(bbb_double.api_url + "/join?")
    query = parse_qs(urlsplit(join_url).query)
    assert query["role"] == ["VIEWER"] and query["fullName"] == ["Ada Lovelace"]
    assert query["userID"][0].startswith("lpcfe-") and "ada@" not in join_url
    assert "password" not in query
    assert not [name for name in query if name.startswith("userdata-")]  # BBB_CHAT_PLUGIN is off

    again = ada.get("/rooms/hall-a/enter/")  # reloading the frame does not join twice
    assert again.status_code == 200 and "has been used" in again.content.decode()
    assert "bbb-frame" not in ada.get("/rooms/hall-a/").content.decode()

    meeting = requests.get(join_url, timeout=5)
    assert 'Ada Lovelace — <span class="role">VIEWER</span>' in meeting.text
    assert "disabledFeatures=chat" in meeting.text
    log = JoinLog.objects.get()
    assert (log.room_slug, log.viewer_role, log.bbb_role, log.outcome) == ("hall-a", "attendee", "VIEWER", "joined")


@live
def test_meeting_is_created_from_the_schedule(bbb_double, hall, settings):
    settings.BBB_ALLOW_REQUESTS_WITHOUT_SESSION = True
    factories.join_url(factories.client_for("ada@example.org"), hall)
    hack = factories.room(slug="hack-1", name="Hack room", kind=Room.Kind.HACK)
    factories.talk(hack, timezone.now() - timedelta(minutes=1), timezone.now() + timedelta(hours=1), title="Hacking")
    factories.join_url(factories.client_for("bob@example.org"), hack)

    created = SimMeeting.objects.get(meeting_id="hall-a").params
    assert created["name"] == "Hall A"
    assert "Scheduling &lt;fun&gt;" in created["welcome"] and "Plumbers &lt;Conf&gt;" in created["welcome"]
    assert created["logoutURL"] == bbb_double.api_url.split("/bbb-simulator")[0] + "/rooms/hall-a/left/"
    assert created["disabledFeatures"] == "chat"
    assert created["record"] == "true" and created["autoStartRecording"] == "true"
    assert created["allowRequestsWithoutSession"] == "true"
    assert (created["meta_conference"], created["meta_room"], created["meta_track"]) == (
        "Plumbers <Conf>",
        "Hall A",
        "Kernel Summit",
    )
    assert "password" not in " ".join(created).lower() and "attendeePW" not in created
    assert SimMeeting.objects.get(meeting_id="hack-1").params["record"] == "false"


@pytest.mark.parametrize(
    ("email", "role", "expected"),
    [
        ("linus@example.org", "attendee", "MODERATOR"),  # speaker of the current session
        ("grace@example.org", "attendee", "MODERATOR"),  # speaker of the next session
        ("mod@example.org", "moderator", "MODERATOR"),  # directory moderator
        ("org@example.org", "organiser", "MODERATOR"),
        ("ada@example.org", "attendee", "VIEWER"),
        ("sam@example.org", "speaker", "VIEWER"),  # a speaker, but not in this room today
    ],
)
@live
def test_roles(bbb_double, hall, email, role, expected):
    join_url = factories.join_url(factories.client_for(email, role), hall)
    assert parse_qs(urlsplit(join_url).query)["role"] == [expected]
    requests.get(join_url, timeout=5)
    assert SimAttendee.objects.get().role == expected
    assert JoinLog.objects.get().bbb_role == expected


@pytest.mark.django_db
def test_private_room_is_for_its_moderators(hall):
    hall.kind = Room.Kind.PRIVATE
    hall.moderator_emails = ["pc@example.org"]
    hall.save()
    refused = factories.client_for("ada@example.org").post("/rooms/hall-a/join/")
    assert refused.status_code == 403
    assert "open to its moderators only" in refused.content.decode()
    assert "Only this room&#x27;s moderators may enter." in refused.content.decode()
    assert JoinLog.objects.get().outcome == "refused"


@live
def test_private_room_moderator_gets_in(bbb_double, hall):
    hall.kind = Room.Kind.PRIVATE
    hall.moderator_emails = ["pc@example.org"]
    hall.save()
    assert parse_qs(urlsplit(factories.join_url(factories.client_for("pc@example.org"), hall)).query)["role"] == [
        "MODERATOR"
    ]


@live
def test_guests_only_in_public_rooms(bbb_double, hall):
    guest = factories.guest_client("Visitor")
    refused = guest.post("/rooms/hall-a/join/")
    assert refused.status_code == 403 and "Guests may only join public rooms." in refused.content.decode()
    hall.kind = Room.Kind.PUBLIC
    hall.save()
    query = parse_qs(urlsplit(factories.join_url(guest, hall)).query)
    assert query["fullName"] == ["Visitor (guest)"] and query["role"] == ["VIEWER"]
    assert query["userID"][0].startswith("guest-")


@live
def test_guest_name_carries_one_guest_marker(bbb_double, hall):
    hall.kind = Room.Kind.PUBLIC
    hall.save()
    guest = factories.guest_client("Visiting Guest")  # through the guest form, as a browser does
    join_url = factories.join_url(guest, hall)
    assert parse_qs(urlsplit(join_url).query)["fullName"] == ["Visiting Guest (guest)"]
    requests.get(join_url, timeout=10, allow_redirects=False)  # the browser follows it into BBB
    assert list(SimAttendee.objects.values_list("full_name", flat=True)) == ["Visiting Guest (guest)"]


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(hall):
    answer = Client().post("/rooms/hall-a/join/")
    assert answer.status_code == 302 and answer["Location"] == "/login/?next=/rooms/hall-a/"
    assert not JoinLog.objects.exists()


@pytest.mark.django_db
def test_join_is_a_post_with_csrf(hall):
    assert factories.client_for("ada@example.org").get("/rooms/hall-a/join/").status_code == 405
    strict = factories.client_for("bob@example.org", enforce_csrf_checks=True)
    assert strict.post("/rooms/hall-a/join/").status_code == 403
    assert not JoinLog.objects.exists()


# --- Window boundaries, through the view --------------------------------------------------------


def _only_talk(room: Room, start, end) -> None:
    room.talks.all().delete()
    factories.talk(room, start, end, title="Only talk")


@live
def test_window_boundaries(bbb_double, hall):
    ada = factories.client_for("ada@example.org")
    ada.get("/rooms/hall-a/")  # warm up, so the timed requests below are quick
    opens = timedelta(minutes=10)

    _only_talk(hall, timezone.now() + opens + timedelta(seconds=1), timezone.now() + timedelta(hours=1))
    refused = ada.post("/rooms/hall-a/join/")
    assert refused.status_code == 403 and "not open yet" in refused.content.decode()
    # The opening time is named in the viewer's zone (here the conference's, as no zone was chosen).
    opening = (timezone.now() + timedelta(seconds=1)).astimezone(zoneinfo.ZoneInfo("Europe/Dublin"))
    assert f"{opening:%H:%M} Europe/Dublin</time>" in refused.content.decode()
    ada.cookies["lpcfe_tz"] = "Asia/Kolkata"
    in_kolkata = ada.post("/rooms/hall-a/join/").content.decode()
    assert f"{opening.astimezone(zoneinfo.ZoneInfo('Asia/Kolkata')):%H:%M} Asia/Kolkata</time>" in in_kolkata
    assert "Europe/Dublin)" in in_kolkata  # and the conference's own time beside it

    _only_talk(hall, timezone.now() + opens - timedelta(seconds=1), timezone.now() + timedelta(hours=1))
    assert ada.post("/rooms/hall-a/join/").status_code == 303

    _only_talk(hall, timezone.now() - timedelta(hours=1), timezone.now() + timedelta(seconds=1))
    assert ada.post("/rooms/hall-a/join/").status_code == 303

    _only_talk(hall, timezone.now() - timedelta(hours=1), timezone.now() - timedelta(seconds=1))
    closed = ada.post("/rooms/hall-a/join/")
    assert closed.status_code == 403 and "Nothing more is scheduled" in closed.content.decode()


# --- Capacity ---------------------------------------------------------------------------------


@live
def test_capacity_full_page_lists_open_rooms(bbb_double, hall):
    hall.capacity = 1
    hall.save()
    other = factories.room(slug="hall-b", name="Hall <B>")
    factories.talk(other, timezone.now() - timedelta(minutes=1), timezone.now() + timedelta(hours=1))
    factories.room(slug="closed", name="Closed room")

    requests.get(factories.join_url(factories.client_for("ada@example.org"), hall), timeout=5)  # Ada is in: 1 of 1
    bob = factories.client_for("bob@example.org")
    full = bob.post("/rooms/hall-a/join/")
    html = full.content.decode()
    assert full.status_code == 403 and "This room is full." in html
    assert 'href="/rooms/hall-b/"' in html and "Hall &lt;B&gt;" in html
    assert 'action="/rooms/hall-b/join/"' in html and "Closed room" not in html

    cache.clear()  # the next count comes from BBB itself (getMeetingInfo)
    assert bob.post("/rooms/hall-a/join/").status_code == 403
    assert bbb.get_meeting_info(bbb_double, "hall-a").participant_count == 1
    # Speakers always get in, whatever the count.
    assert parse_qs(urlsplit(factories.join_url(factories.client_for("linus@example.org"), hall)).query)["role"] == [
        "MODERATOR"
    ]


# --- One create for a herd of clicks --------------------------------------------------------


@live
def test_one_create_under_a_burst_of_joins(bbb_double, hall, live_server):
    clicks = 24
    browsers = []
    for number in range(clicks):
        client = factories.client_for(f"person{number}@example.org")
        browser = requests.Session()
        browser.cookies.set("sessionid", client.cookies["sessionid"].value)
        form = browser.get(f"{live_server.url}/rooms/hall-a/", timeout=10).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        browsers.append((browser, token))

    start = threading.Barrier(clicks)
    answers: list[int] = []

    def click(browser: requests.Session, token: str) -> None:
        start.wait()
        answer = browser.post(
            f"{live_server.url}/rooms/hall-a/join/",
            data={"csrfmiddlewaretoken": token},
            timeout=30,
            allow_redirects=False,
        )
        answers.append(answer.status_code)

    threads = [threading.Thread(target=click, args=pair) for pair in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [303] * clicks
    assert SimApiCall.objects.filter(call="create", meeting_id="hall-a").count() == 1
    assert SimMeeting.objects.filter(meeting_id="hall-a").count() == 1
    assert JoinLog.objects.filter(outcome="joined").count() == clicks


@live
def test_joins_into_two_rooms_at_once_both_let_their_frames_in(bbb_double, hall, hold_in):
    """Two tabs of one browser: Join in Hall A is still being answered when Join in Hall B is.
    Each request loads the session and saves it with its room's join link: neither may drop the other's."""
    hall_b = factories.room(slug="hall-b", name="Hall B")
    factories.talk_now(hall_b, title="Parallel track")
    tab_a = factories.client_for("ada@example.org")
    tab_b = Client()
    tab_b.cookies["sessionid"] = tab_a.cookies["sessionid"].value
    joined_a, joined_b = hold_in(
        meetings,
        "count_join",
        slow=lambda: tab_a.post("/rooms/hall-a/join/"),
        meanwhile=lambda: tab_b.post("/rooms/hall-b/join/"),
        # Hall A's request has loaded the session and has yet to save it.
        only=lambda room: room.slug == "hall-a",
    )
    assert (joined_a.status_code, joined_b.status_code) == (303, 303)

    for tab, slug in ((tab_a, "hall-a"), (tab_b, "hall-b")):
        assert f'src="/rooms/{slug}/enter/"' in tab.get(f"/rooms/{slug}/").content.decode()
        frame = tab.get(f"/rooms/{slug}/enter/")
        assert frame.status_code == 302, f"{slug}: {frame.content.decode()[:200]}"
        assert parse_qs(urlsplit(frame["Location"]).query)["meetingID"] == [slug]


# --- BBB down or slow -----------------------------------------------------------------------


@pytest.mark.django_db
def test_bbb_down_gives_a_clear_page_at_once(hall, broken_bbb, closed_port):
    broken_bbb(closed_port, timeout=3)
    ada = factories.client_for("ada@example.org")
    started = time.monotonic()
    answer = ada.post("/rooms/hall-a/join/")
    assert time.monotonic() - started < 1.5
    assert answer.status_code == 503
    assert "cannot be reached" in answer.content.decode() and "Try again" in answer.content.decode()
    assert JoinLog.objects.get().outcome == "failed"


@pytest.mark.django_db
def test_bbb_slow_gives_a_clear_page_within_the_timeout(hall, broken_bbb, silent_port):
    broken_bbb(silent_port, timeout=1)
    ada = factories.client_for("ada@example.org")
    started = time.monotonic()
    answer = ada.post("/rooms/hall-a/join/")
    elapsed = time.monotonic() - started
    assert answer.status_code == 503 and "did not answer within 1 seconds" in answer.content.decode()
    assert 0.9 < elapsed < 2.5
    # The herd behind the first click fails fast instead of each waiting for the timeout.
    started = time.monotonic()
    assert factories.client_for("bob@example.org").post("/rooms/hall-a/join/").status_code == 503
    assert time.monotonic() - started < 0.5


# --- The meeting disappears from BBB --------------------------------------------------------


@live
def test_meeting_recreated_when_bbb_says_it_is_gone(bbb_double, hall, live_server):
    ada = factories.client_for("ada@example.org")
    requests.get(factories.join_url(ada, hall), timeout=5)
    bbb.end(bbb_double, "hall-a")  # a moderator ended it; lpcfe still has the old createTime

    stale = requests.get(factories.join_url(ada, hall), timeout=5, allow_redirects=False)
    assert stale.status_code == 302 and stale.headers["Location"].startswith(live_server.url + "/rooms/hall-a/left/")
    left = requests.get(stale.headers["Location"], timeout=5)
    assert "could not be entered" in left.text and left.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert 'target="_top"' in left.text

    meeting = requests.get(factories.join_url(ada, hall), timeout=5)
    assert "VIEWER" in meeting.text and "not a real meeting" in meeting.text
    assert SimApiCall.objects.filter(call="create", meeting_id="hall-a").count() == 2


@live
def test_forged_error_report_does_not_drop_the_meeting(bbb_double, hall, live_server):
    """room_left's `errors` are not signed: they only make lpcfe ask BBB (rate-limited)."""
    ada = factories.client_for("ada@example.org")
    requests.get(factories.join_url(ada, hall), timeout=5)
    forged = requests.get(
        f'{live_server.url}/rooms/hall-a/left/?errors=[{{"key":"mismatchCreateTimeParam"}}]', timeout=5
    )
    assert forged.status_code == 200 and "restarted" in forged.text
    assert "You left the meeting" in requests.get(f"{live_server.url}/rooms/hall-a/left/", timeout=5).text
    requests.get(factories.join_url(ada, hall), timeout=5)
    assert SimApiCall.objects.filter(call="create", meeting_id="hall-a").count() == 1
    assert SimApiCall.objects.filter(call="getMeetingInfo", meeting_id="hall-a").count() == 1


@live
def test_redirect_mode_goes_straight_to_bbb(bbb_double, hall, settings):
    settings.BBB_JOIN_MODE = "redirect"
    answer = factories.client_for("ada@example.org").post("/rooms/hall-a/join/")
    assert answer.status_code == 303 and answer["Location"].startswith(bbb_double.api_url + "/join?")


# --- The join button include ----------------------------------------------------------------


@pytest.mark.django_db
def test_join_button_include(rf, hall):
    hall.name = 'Hall "<A>"'
    request = rf.get("/")
    allowed = render_to_string(
        "sessions/_join_button.html", {"room": hall, "decision": JoinDecision(True, "VIEWER", "", None, None)}, request
    )
    assert 'action="/rooms/hall-a/join/"' in allowed and 'name="csrfmiddlewaretoken"' in allowed
    assert 'aria-label="Join Hall &quot;&lt;A&gt;&quot;"' in allowed and ">Join</button>" in allowed

    opens = timezone.now().replace(hour=8, minute=50, second=0, microsecond=0)
    waiting = render_to_string(
        "sessions/_join_button.html",
        {"room": hall, "decision": JoinDecision(False, "VIEWER", "not yet", opens, None), "conference": None},
        request,
    )
    assert "disabled" in waiting and "<form" not in waiting and "08:50 UTC" in waiting
    full = render_to_string(
        "sessions/_join_button.html",
        {"room": hall, "decision": JoinDecision(False, "VIEWER", "full", opens, None, full=True)},
        request,
    )
    assert ">Full</button>" in full and 'action="/rooms/hall-a/join/"' in full


# --- A real browser ---------------------------------------------------------------------------


@pytest.mark.browser
@live
def test_browser_logs_in_clicks_join_on_the_front_page_and_lands_in_the_room(bbb_double, hall, new_page, live_server):
    page = new_page(timezone_id="Europe/Dublin")
    factories.browser_login(page, live_server, "ada@example.org", "ADA-7cq3-93kd", last_name="Lovelace")
    assert page.url == f"{live_server.url}/"  # the front page: now and next per room
    card = page.locator(".room-card", has_text="Hall A")
    assert "Scheduling <fun>" in card.inner_text()
    card.get_by_role("button", name="Join Hall A").click()
    page.wait_for_url(f"{live_server.url}/rooms/hall-a/")
    meeting = page.frame_locator("iframe.bbb-frame")
    assert meeting.get_by_test_id("you").inner_text() == "Ada Lovelace — VIEWER"
    assert "disabled" in meeting.get_by_test_id("chat-state").inner_text()
    chat = page.locator("#chat-panel iframe.chat-frame")
    assert chat.get_attribute("src") == "/chat/hall-a/" and chat.is_visible()
    assert JoinLog.objects.get().outcome == "joined"
    assert (
        meeting.locator(".welcome")
        .inner_text()
        .startswith("Welcome to Hall A at Plumbers <Conf>.\nNow: Scheduling <fun>")
    )
    assert page.get_by_role("tablist").count() == 0  # side by side on a wide screen, no tabs
    # The chat can be collapsed from the keyboard.
    page.get_by_role("button", name="Hide chat").focus()
    page.keyboard.press("Enter")
    assert page.locator("#chat-panel").is_hidden()
    assert page.get_by_role("button", name="Show chat").get_attribute("aria-expanded") == "false"


@pytest.mark.browser
@live
def test_browser_phone_gets_tabs(bbb_double, hall, new_page, live_server):
    page = new_page(viewport={"width": 360, "height": 740})
    factories.browser_login(page, live_server, "ada@example.org", "ADA-7cq3-93kd", next_path="/rooms/hall-a/")
    meeting_tab = page.get_by_role("tab", name="Meeting")
    assert meeting_tab.get_attribute("aria-selected") == "true"
    assert page.locator("#chat-panel").is_hidden()
    meeting_tab.focus()
    page.keyboard.press("ArrowRight")
    assert page.get_by_role("tab", name="Chat").get_attribute("aria-selected") == "true"
    assert page.locator("#chat-panel").is_visible() and page.locator("#meeting-panel").is_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


@live
def test_a_count_asked_before_a_create_does_not_forget_the_new_meeting(bbb_double, hall):
    # Join storm race: a participant count sent before the first create, answered "notFound"
    # after it, must not drop the fresh meeting (that caused a second create under load).
    server = bbb.server_for(hall)
    key = meetings._key("meeting", server, meetings.meeting_id_for(hall))
    fresh = meetings.Meeting(server.name, meetings.meeting_id_for(hall), 1, time.time() + 60)
    cache.set(key, fresh, 300)
    assert meetings.participant_estimate(hall) == 0  # the double has no such meeting: notFound
    assert cache.get(key) == fresh
    cache.delete(meetings._key("count", server, meetings.meeting_id_for(hall)))
    stale = meetings.Meeting(server.name, meetings.meeting_id_for(hall), 1, time.time() - 60)
    cache.set(key, stale, 300)
    assert meetings.participant_estimate(hall) == 0
    assert cache.get(key) is None  # created before the question: BBB's answer stands


@live
def test_a_count_answered_not_found_leaves_a_meeting_stored_while_it_looked(bbb_double, hall, monkeypatch):
    # The other interleaving of the same race: nothing cached when the count reads the cache,
    # the first create stores its meeting right after that read. The count must not delete it.
    server = bbb.server_for(hall)
    key = meetings._key("meeting", server, meetings.meeting_id_for(hall))
    fresh = meetings.Meeting(server.name, meetings.meeting_id_for(hall), 1, time.time())
    real_get = cache.get
    reads = []

    def get_then_create_lands(k, *args, **kwargs):
        value = real_get(k, *args, **kwargs)
        if k == key and not reads:
            reads.append(k)
            cache.set(key, fresh, 300)  # the concurrent create finishes just after this read
        return value

    monkeypatch.setattr(cache, "get", get_then_create_lands)
    assert meetings.participant_estimate(hall) == 0  # the double has no such meeting: notFound
    assert reads and real_get(key) == fresh


@pytest.mark.browser
@live
def test_room_page_left_open_enables_join_when_the_room_opens(bbb_double, settings, new_page, live_server):
    """Observed: a room page opened early stayed on "not open yet" after opening time."""
    from unittest import mock

    settings.SCHEDULE_JOIN_OPEN_MINUTES = 10
    settings.SCHEDULE_REFRESH_JITTER_SECONDS = 0
    factories.conference(timezone="Europe/Dublin")
    room = factories.room(slug="hall-a", name="Hall A")
    start = timezone.now().replace(microsecond=0) + timedelta(hours=2)
    factories.talk(room, start, start + timedelta(minutes=45), title="Opening talk")
    opens = start - timedelta(minutes=10)
    clock = {"now": opens - timedelta(seconds=3)}
    with mock.patch("django.utils.timezone.now", side_effect=lambda: clock["now"]):
        page = new_page(timezone_id="Europe/Dublin")
        factories.browser_login(page, live_server, "ada@example.org", "ADA-7cq3-93kd", next_path="/rooms/hall-a/")
        join = page.get_by_role("button", name="Join Hall A")
        assert join.is_disabled()
        assert "This room is not open yet." in page.locator("#meeting-placeholder").inner_text()
        clock["now"] = opens + timedelta(seconds=1)  # the clock moves past opening; nobody reloads
        page.locator("#room-join button.join-button:not([disabled])").wait_for(timeout=15_000)
        assert "Click Join to enter the meeting." in page.locator("#meeting-placeholder").inner_text()
        page.get_by_role("button", name="Join Hall A").click()
        page.wait_for_url(f"{live_server.url}/rooms/hall-a/")
        assert page.frame_locator("iframe.bbb-frame").get_by_test_id("you").inner_text().endswith("VIEWER")
