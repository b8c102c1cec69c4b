"""The embedded chat client in headless Chromium against the real test Synapse.

Each test opens the real chat page (`chat:room`) as an attendee; the page gets its token through
the hand-off endpoint and then talks to Synapse directly, as in production.
"""

import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from chat_embed.handoff import account_for_person, make_chat_ticket
from chat_embed.models import MatrixMembership, MatrixRoom
from sessions.models import Room
from tests import factories
from tests.chatkit import ChatRoom, Homeserver, Person, li_with, message_texts, post, wait_ready

pytestmark = [
    pytest.mark.browser,
    pytest.mark.matrix,
    pytest.mark.django_db(transaction=True),
]

CAP = 300  # the client's DOM cap (chat.js CAP)


class ChatWorld:
    """Rooms and people made the way the front end knows them (a schedule room, its Matrix room,
    Django users with their Matrix accounts), plus pages opened as those people."""

    def __init__(self, synapse, new_page, live_server) -> None:
        self.hs = Homeserver(synapse.url, synapse.admin_token, synapse.server_name)
        self.new_page = new_page
        self.live_server = live_server

    def room(self, name: str, kind: str = Room.Kind.PUBLIC) -> ChatRoom:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()) + "-" + uuid.uuid4().hex[:6]
        room = factories.room(slug=slug, name=name, kind=kind)
        room_id, alias = self.hs.room(name)
        MatrixRoom.objects.create(
            key=f"room:{slug}",
            alias_localpart=alias[1:].split(":")[0],
            room_id=room_id,
            name=name,
            public=kind == Room.Kind.PUBLIC,
            schedule_room=room,
        )
        return ChatRoom(room, room_id, alias)

    def person(self, room: ChatRoom, name: str) -> Person:
        """An attendee with a Matrix account provisioned in advance and already in the room."""
        email = f"{uuid.uuid4().hex[:10]}@example.org"
        user = factories.person(email, first_name=name)
        account = account_for_person(email, user.get_full_name())
        self.hs.put_user(account.user_id, account.display_name)
        account.on_server = True
        account.save(update_fields=["on_server"])
        self.hs.join(account.user_id, room.room_id)
        MatrixMembership.objects.create(account=account, room=MatrixRoom.objects.get(room_id=room.room_id))
        person = Person(account.user_id, self.hs.token(account.user_id), name)
        person.user = user
        return person

    def outsider(self, room: ChatRoom, name: str) -> Person:
        """Someone in the room through another Matrix client (no front-end account)."""
        user_id = self.hs.user(displayname=name)
        self.hs.join(user_id, room.room_id)
        return Person(user_id, self.hs.token(user_id), name)

    def populate(self, room: ChatRoom, count: int) -> list[str]:
        return self.hs.populate(room.room_id, count)

    def url(self, room: ChatRoom, **query: str) -> str:
        url = self.live_server.url + reverse("chat:room", args=[room.room.slug])
        return url + ("?" + urlencode(query) if query else "")

    def open(self, person: Person | None, room: ChatRoom, start: bool = True, guest: str = "", **context):
        """A page in a fresh browser context, logged in as `person`, or as a guest named `guest`, or
        (neither) with no session at all."""
        page = self.new_page(**context)
        client = Client()
        if person is not None:
            client.force_login(person.user)
        elif guest:
            client = factories.guest_client(guest)
        else:
            return page  # no session at all, like a frame on another site
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": self.live_server.url}])
        if start:
            page.goto(self.url(room))
        return page


@pytest.fixture
def chat(matrix_settings, new_page, live_server) -> ChatWorld:
    return ChatWorld(matrix_settings, new_page, live_server)


def test_two_attendees_chat_reply_edit_and_everything_is_text(chat):
    room = chat.room("Kernel Summit")
    alice = chat.person(room, "Alice Liddell")
    bob = chat.person(room, "Bob")
    mallory = chat.outsider(room, '<b id="pwn">Mallory</b><img src=x onerror="window.__xss=1">')

    pa = chat.open(alice, room)
    pb = chat.open(bob, room, viewport={"width": 320, "height": 640})  # a narrow iframe
    wait_ready(pa)
    wait_ready(pb)
    joined = chat.hs.joined_count(room.room_id)
    assert joined >= 3
    assert pa.locator("#chat-count").inner_text() == f"{joined} people here"

    # Alice types, Bob sees it within seconds.
    pa.fill("#chat-input", "Hello from Alice, see https://example.org/a_(b). Not a link: javascript:alert(1)")
    start = time.monotonic()
    pa.keyboard.press("Enter")
    msg = li_with(pb, "Hello from Alice")
    msg.wait_for(timeout=5_000)
    assert time.monotonic() - start < 5
    assert pa.input_value("#chat-input") == ""
    assert msg.locator(".nick").inner_text() == "Alice Liddell"
    links = msg.locator("a")
    assert links.count() == 1
    assert links.get_attribute("href") == "https://example.org/a_(b)"
    assert links.get_attribute("rel") == "noopener noreferrer nofollow"
    assert links.get_attribute("target") == "_blank"
    assert li_with(pa, "Hello from Alice").count() == 1  # the local echo became the real message, once

    # Bob replies through the UI; the quote shows Alice's message.
    msg.hover()
    msg.locator("button[data-act=reply]").click()
    assert "Replying to Alice Liddell" in pb.locator("#chat-context").inner_text()
    pb.keyboard.type("Welcome!")
    pb.keyboard.press("Enter")
    reply = li_with(pa, "Welcome!")
    reply.wait_for()
    assert reply.locator(".quote").inner_text().startswith("In reply to Alice Liddell: Hello from Alice")
    assert reply.locator(".body").inner_text() == "Welcome!"

    # A reply from another client carries the old fallback quote in its body: it is stripped.
    parent = li_with(pa, "Hello from Alice").get_attribute("data-id")
    chat.hs.send(
        bob.token,
        room.room_id,
        "> <@alice> Hello from Alice\n\nFallback-style reply",
        **{"m.relates_to": {"m.in_reply_to": {"event_id": parent}}},
    )
    fallback = li_with(pa, "Fallback-style reply")
    fallback.wait_for()
    assert fallback.locator(".body").inner_text() == "Fallback-style reply"
    assert fallback.locator(".quote").inner_text().startswith("In reply to Alice Liddell")

    # Alice edits her message (Up arrow in the empty composer edits the last one).
    pa.focus("#chat-input")
    pa.keyboard.press("ArrowUp")
    assert pa.input_value("#chat-input").startswith("Hello from Alice")
    post(pa, "Hello everyone (corrected)")
    edited = li_with(pb, "Hello everyone (corrected)")
    edited.wait_for()
    assert edited.locator(".edited").inner_text() == "(edited)"
    assert li_with(pb, "Hello from Alice").count() == 0
    assert li_with(pb, "corrected").count() == 1  # no separate edit line
    # Bob's quote of the message follows the edit only after a re-render; the message itself shows it now.

    # An "edit" of Alice's message by someone else is ignored.
    chat.hs.send(
        mallory.token,
        room.room_id,
        "* hijacked",
        **{"m.new_content": {"msgtype": "m.text", "body": "hijacked"}},
        **{"m.relates_to": {"rel_type": "m.replace", "event_id": parent}},
    )
    # HTML and script in a body and in a display name render as text.
    payload = '<img src=x onerror="window.__xss=2"><script>window.__xss=3</script><b>bold?</b>'
    chat.hs.send(mallory.token, room.room_id, payload)
    evil = li_with(pa, "<script>")
    evil.wait_for()
    assert evil.locator(".body").inner_text() == payload
    assert evil.locator(".nick").inner_text() == '<b id="pwn">Mallory</b><img src=x onerror="window.__xss=1">'
    for page in (pa, pb):
        li_with(page, "<script>").wait_for()
        assert page.locator("#chat-messages img, #chat-messages script, #chat-messages b, #pwn").count() == 0
        assert page.evaluate("() => window.__xss") is None
        assert li_with(page, "hijacked").count() == 0
        assert li_with(page, "Hello everyone (corrected)").count() == 1

    # /me is an emote; it shows as an action.
    post(pb, "/me waves")
    emote = pa.locator("#chat-messages li.msg.emote", has_text="waves")
    emote.wait_for()
    assert re.search(r"\* Bob waves$", emote.inner_text().strip())

    # The narrow page has no horizontal scrolling.
    assert pb.evaluate("() => document.documentElement.scrollWidth") <= 320


def test_ticket_page_leaves_no_ticket_in_the_address_bar_and_reloads_from_its_position(chat):
    """The BBB frame's way in: a single-use ticket in the URL, no cookies needed."""
    room = chat.room("Reload")
    alice = chat.person(room, "Alice")
    for i in range(3):
        chat.hs.send(alice.token, room.room_id, f"before reload {i}")
    page = chat.open(None, room, start=False)  # no session cookie, as in a frame on BBB's site
    page.goto(chat.url(room, ticket=make_chat_ticket(alice.user, room.room)))
    wait_ready(page)
    # The first sync brings the newest message; the two before it come from "load earlier". Reload
    # once they are on screen: the page keeps what it shows for the reload (it writes its tab cache
    # when the page is hidden, not only on its once-a-second timer).
    li_with(page, "before reload 0").wait_for()
    assert "ticket" not in page.url
    assert page.evaluate("() => location.search") == ""

    syncs: list[str] = []
    page.on("request", lambda r: syncs.append(r.url) if "/sync" in r.url else None)
    page.reload()
    wait_ready(page)
    # The messages are back at once, and the first sync after the reload resumes from the stored
    # position instead of replaying the room (the spent ticket is not needed again).
    assert message_texts(page)[-3:] == [f"before reload {i}" for i in range(3)]
    assert syncs and "since" in parse_qs(urlsplit(syncs[0]).query)
    chat.hs.send(alice.token, room.room_id, "after reload")
    li_with(page, "after reload").wait_for()
    assert message_texts(page).count("before reload 2") == 1
    assert page.locator("#chat").get_attribute("data-user") == alice.user_id


def test_guests_read_but_cannot_post(chat):
    room = chat.room("Town hall")
    alice = chat.person(room, "Alice")
    chat.hs.send(alice.token, room.room_id, "Welcome, guests")
    page = chat.open(None, room, guest="Gwen")
    wait_ready(page)
    li_with(page, "Welcome, guests").wait_for()
    assert page.locator("#chat-input").is_disabled()
    assert page.locator("#chat-send").is_disabled()
    assert page.locator("#chat-readonly").is_visible()
    assert page.locator("#chat-messages button").count() == 0  # no reply/edit actions either


def test_synapse_restart_reconnects_and_delivers_the_queued_message_once(chat, synapse):
    room = chat.room("Restart")
    alice = chat.person(room, "Alice")
    bob = chat.person(room, "Bob")
    page = chat.open(alice, room)
    wait_ready(page)
    synapse.stop()
    try:
        page.wait_for_selector('#chat[data-state="reconnecting"]', timeout=10_000)
        assert "Reconnecting" in page.inner_text("#chat-status")
        # Typed during the outage: it waits in the pending list, visibly not yet sent.
        post(page, "typed while the server was down")
        pending = page.locator("#chat-pending li.pending", has_text="typed while the server was down")
        pending.wait_for()
        time.sleep(1.5)  # at least one failed attempt to send
    finally:
        synapse.start()  # same port, same data

    page.wait_for_selector('#chat[data-state="live"]', timeout=40_000)
    li_with(page, "typed while the server was down").wait_for(timeout=40_000)
    assert page.locator("#chat-pending li").count() == 0
    chat.hs.send(bob.token, room.room_id, "after the restart")
    li_with(page, "after the restart").wait_for(timeout=10_000)

    bodies = [ev["content"].get("body") for ev in chat.hs.messages(alice.token, room.room_id)]
    assert bodies.count("typed while the server was down") == 1
    assert message_texts(page).count("typed while the server was down") == 1


def test_rate_limited_send_waits_as_told_and_retries_under_the_same_transaction(chat):
    room = chat.room("Busy")
    alice = chat.person(room, "Alice")
    page = chat.open(alice, room)
    wait_ready(page)
    puts: list[tuple[float, str]] = []

    def limit_first(route):
        puts.append((time.monotonic(), route.request.url))
        if len(puts) == 1:
            # What Synapse answers when rc_message is exceeded (the suite's Synapse has limits raised).
            route.fulfill(
                status=429,
                headers={"Access-Control-Allow-Origin": "*"},
                content_type="application/json",
                body='{"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": 2500}',
            )
        else:
            route.continue_()

    page.route("**/send/m.room.message/**", limit_first)
    post(page, "sent after waiting")
    page.locator("#chat-pending li", has_text="Not sent yet").wait_for()
    li_with(page, "sent after waiting").wait_for(timeout=15_000)
    assert len(puts) == 2
    assert puts[1][0] - puts[0][0] >= 2.5
    assert puts[0][1] == puts[1][1]  # the same transaction ID
    bodies = [ev["content"].get("body") for ev in chat.hs.messages(alice.token, room.room_id)]
    assert bodies.count("sent after waiting") == 1


def test_flood_keeps_the_dom_capped_and_the_composer_responsive(chat):
    room = chat.room("Flood")
    senders = [chat.person(room, f"Flooder {i}") for i in range(3)]
    reader = chat.person(room, "Reader")
    page = chat.open(reader, room)
    wait_ready(page)
    page.evaluate(
        """() => {
        window.__slow = {events: [], longtasks: []};
        new PerformanceObserver((list) => {
          for (const e of list.getEntries())
            // Input delay + handlers: how long the page's own work kept a keystroke waiting
            // (the paint after it depends on the machine's spare CPU, not on the page).
            if (["keydown", "keypress", "input", "keyup"].includes(e.name))
              window.__slow.events.push(Math.round(e.processingEnd - e.startTime));
        }).observe({type: "event", durationThreshold: 16, buffered: false});
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) window.__slow.longtasks.push(e.duration);
        }).observe({type: "longtask"});
    }"""
    )
    total = 2000

    def send(i: int) -> None:
        sender = senders[i % len(senders)]
        chat.hs.send(sender.token, room.room_id, f"flood {i:04d}")

    typed = "typing while the room floods stays smooth"
    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:  # concurrent sends let Synapse persist them in batches
        futures = [pool.submit(send, i) for i in range(total)]
        # Type in the composer while the flood is arriving.
        li_with(page, "flood 0100").wait_for(timeout=60_000)
        page.click("#chat-input")
        latencies = []
        for ch in typed:
            t0 = time.monotonic()
            page.keyboard.type(ch)
            latencies.append(time.monotonic() - t0)
        assert page.input_value("#chat-input") == typed
        for f in futures:
            f.result()
    print(f"flood: {total} sent in {time.monotonic() - t0:.1f} s")
    # Several senders at once: the room's order is the server's, not the numbering.
    in_room = [ev["content"]["body"] for ev in chat.hs.messages(reader.token, room.room_id, limit=600)]
    li_with(page, in_room[-1]).wait_for(timeout=60_000)

    texts = message_texts(page)
    assert len(texts) <= CAP
    assert texts[-1] == in_room[-1]
    assert texts == in_room[-len(texts) :], "the newest messages, in order, none lost or doubled"
    slow = page.evaluate("() => window.__slow")
    print(f"flood: {len(texts)} in DOM; key events >16 ms: {slow['events']}; long tasks: {slow['longtasks']}")
    print(f"flood: keyboard round trips {sorted(latencies)}")
    # Bounds are loose: the machine is shared; a frozen page would blow through them.
    assert max(slow["events"], default=0) < 300, slow["events"]
    assert sorted(latencies)[len(latencies) // 2] < 0.25, latencies
    assert max(slow["longtasks"], default=0) < 1000, slow["longtasks"]

    # "Load earlier" pages history back; the cap then trims the newest end and offers a way back.
    oldest = len(in_room) - len(texts)
    page.click("#chat-earlier")
    li_with(page, in_room[oldest - 1]).wait_for()
    texts = message_texts(page)
    assert len(texts) == CAP
    start = in_room.index(texts[0])
    assert start < oldest
    assert texts == in_room[start : start + CAP]
    assert page.locator("#chat-jump").is_visible()
    page.click("#chat-jump")
    li_with(page, in_room[-1]).wait_for()
    assert message_texts(page)[-1] == in_room[-1]


def _requests_until_ready(chat, room, person) -> list[str]:
    page = chat.open(person, room, start=False)
    seen: list[str] = []
    page.on("request", lambda r: seen.append(f"{r.method} {r.url}"))
    page.goto(chat.url(room))
    wait_ready(page)
    page.wait_for_timeout(1500)  # anything the client would fetch after its first sync
    return seen


def test_requests_do_not_grow_with_the_room(chat):
    small = chat.room("Small")
    big = chat.room("Big")
    for room, size in ((small, 10), (big, 300)):
        members = chat.populate(room, size)
        tokens = [chat.hs.token(user_id) for user_id in members[:40]]
        # More than one sync's worth of messages, from up to 40 different people.
        for i in range(40):
            chat.hs.send(tokens[i % len(tokens)], room.room_id, f"message {i}")

    in_small = _requests_until_ready(chat, small, chat.person(small, "Newcomer"))
    in_big = _requests_until_ready(chat, big, chat.person(big, "Newcomer"))

    def paths(requests: list[str]) -> list[str]:
        return [r.split("?")[0] for r in requests]

    print("requests until ready:", paths(in_big))
    assert len(in_small) == len(in_big), (paths(in_small), paths(in_big))
    for request in in_small + in_big:
        assert not re.search(r"/profile/|/avatar|/thumbnail|/download|/members|/joined_members|/presence", request)


def test_messages_behind_a_wave_of_joins_are_shown_on_opening(chat):
    # The first sync takes the newest event of any type; when the events before it are all joins
    # (the room filled up after the last message), the messages come from "load earlier".
    room = chat.room("Keynote")
    early = chat.populate(room, 3)
    for i in range(3):
        chat.hs.send(chat.hs.token(early[i]), room.room_id, f"before the keynote {i}")
    chat.populate(room, 40)  # 40 joins: more than the first sync's timeline
    page = chat.open(chat.person(room, "Latecomer"), room)
    wait_ready(page)
    for i in range(3):
        li_with(page, f"before the keynote {i}").wait_for(timeout=5_000)


def test_an_attendee_in_many_rooms_opens_one_rooms_chat_with_its_latest_messages(chat):
    # Synapse builds a first-sync timeline in every room the account is in and drops the other
    # rooms only afterwards: the first sync asks for one event, "load earlier" brings the rest.
    room = chat.room("Track A")
    speaker = chat.person(room, "Speaker")
    attendee = chat.person(room, "Attendee")
    for n in range(5):
        other = chat.room(f"Track {n}")
        chat.hs.join(attendee.user_id, other.room_id)
        elsewhere = chat.outsider(other, f"Other {n}")
        chat.hs.send(elsewhere.token, other.room_id, f"elsewhere {n}")
    said = [f"in track A {i}" for i in range(35)]
    for text in said:
        chat.hs.send(speaker.token, room.room_id, text)

    page = chat.open(attendee, room, start=False)
    syncs: list[str] = []
    page.on("request", lambda r: syncs.append(r.url) if "/sync?" in r.url else None)
    page.goto(chat.url(room))
    wait_ready(page)
    li_with(page, said[0]).wait_for(timeout=5_000)
    assert message_texts(page) == said
    first = json.loads(parse_qs(urlsplit(syncs[0]).query)["filter"][0])
    assert first["room"]["rooms"] == [room.room_id] and first["room"]["timeline"]["limit"] == 1


def test_names_are_the_directorys_look_alikes_are_told_apart_and_moderators_carry_a_badge(chat):
    room = chat.room("Who is who")
    orla = chat.person(room, "Orla Organiser")
    namesake = chat.person(room, "Orla Organiser")  # a real second person with the same name
    mallory = chat.person(room, "Mallory Attendee")
    viewer = chat.person(room, "Vera Viewer")
    chat.hs.set_power(room.room_id, orla.user_id, 50)  # as provisioning does for organisers and speakers

    # Mallory tries to take Orla's name, globally and in this room only: the homeserver refuses
    # the first and keeps the directory name in the second.
    headers = {"Authorization": f"Bearer {mallory.token}"}
    profile = f"{chat.hs.url}/_matrix/client/v3/profile/{mallory.user_id}/displayname"
    renamed = chat.hs.http.put(profile, json={"displayname": "Orla Organiser"}, headers=headers, timeout=10)
    assert renamed.status_code == 403
    member = f"{chat.hs.url}/_matrix/client/v3/rooms/{room.room_id}/state/m.room.member/{mallory.user_id}"
    chat.hs.http.put(member, json={"membership": "join", "displayname": "Orla Organiser"}, headers=headers, timeout=10)
    state = chat.hs.http.get(member, headers=headers, timeout=10).json()
    assert state["displayname"] == "Mallory Attendee"

    chat.hs.send(orla.token, room.room_id, "welcome from the organisers")
    chat.hs.send(namesake.token, room.room_id, "hello from the other Orla")
    chat.hs.send(mallory.token, room.room_id, "I am Orla, trust me")

    page = chat.open(viewer, room)
    wait_ready(page)
    real, other, fake = (li_with(page, text) for text in ("welcome from the", "hello from the other", "I am Orla"))
    for li in (real, other, fake):
        li.wait_for()
    assert fake.locator(".nick").inner_text() == "Mallory Attendee"
    # Namesakes: a short tag each, different, and the full Matrix ID on hover and on focus.
    real_name, other_name = real.locator(".nick").inner_text(), other.locator(".nick").inner_text()
    assert re.fullmatch(r"Orla Organiser #\w{4}", real_name) and re.fullmatch(r"Orla Organiser #\w{4}", other_name)
    assert real_name != other_name
    assert real.locator(".nick").get_attribute("title") == orla.user_id  # shown on hover
    assert not real.locator(".mxid").is_visible()
    real.focus()
    assert real.locator(".mxid").is_visible() and real.locator(".mxid").inner_text().strip() == orla.user_id
    # The badge comes from the room's power levels: Orla has it, her namesake and Mallory do not.
    assert real.locator(".badge").inner_text().lower() == "moderator"
    assert other.locator(".badge").count() == 0 and fake.locator(".badge").count() == 0
    # A moderator named later gets the badge on the messages already shown, and keeps it on a reload.
    chat.hs.set_power(room.room_id, namesake.user_id, 50)
    other.locator(".badge").wait_for(timeout=10_000)
    page.reload()
    wait_ready(page)
    for text in ("welcome from the", "hello from the other"):
        assert li_with(page, text).locator(".badge").inner_text().lower() == "moderator"
    assert li_with(page, "I am Orla").locator(".badge").count() == 0
