"""Live chat for thousands: the real test Synapse pushes each room event once to the front end
(Application Service API), the front end publishes it to nchan, and nginx (with nchan and a
real redis-server, on loopback, serving the deployment's own site) fans it out to the chat pages'
EventSource.

Personas: attendees Alice and Bob, guest Gwen, the organiser's homeserver (the pusher).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.test import Client

from chat_embed.matrix import MatrixClient
from chat_embed.models import AppserviceTransaction, MatrixAccount, MatrixRoom
from sessions import guests
from sessions.models import Room
from tests import factories
from tests.chatkit import ChatRoom, li_with, message_texts, post, wait_ready
from tests.test_chat_client import ChatWorld

pytestmark = [pytest.mark.browser, pytest.mark.matrix, pytest.mark.django_db(transaction=True)]


class LiveWorld(ChatWorld):
    """ChatWorld seen through nginx: pages, subscriptions and the homeserver's pushes all pass it."""

    def __init__(self, synapse, new_page, live_server, edge, tokens) -> None:
        super().__init__(synapse, new_page, live_server)
        self.edge = edge
        self.tokens = tokens
        self.front = edge.nginx.site_url
        self.bot = f"@{tokens['bot']}:{synapse.server_name}"
        self.live_server = type("Front", (), {"url": self.front})()  # pages and cookies on nginx
        MatrixClient(synapse.url, synapse.admin_token).register_appservice_user(tokens["bot"], tokens["as_token"])

    def room(self, name: str, kind: str = Room.Kind.PUBLIC) -> ChatRoom:
        made = super().room(name, kind)
        self.hs.join(self.bot, made.room_id)  # as provisioning does: the homeserver now pushes this room
        return made

    def channel(self, room: ChatRoom) -> str:
        return f"room{MatrixRoom.objects.get(room_id=room.room_id).pk}"

    def published(self, room: ChatRoom, publish_url: str | None = None) -> int:
        """Messages in the room's channel, as nchan's publisher location reports them."""
        url = f"{publish_url or self.edge.nginx.publish_url}/{self.channel(room)}"
        answer = requests.get(url, headers={"Accept": "application/json"}, timeout=5)
        return 0 if answer.status_code == 404 else answer.json()["messages"]

    def wait_published(self, room: ChatRoom, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.published(room) < count:
            assert time.monotonic() < deadline, f"only {self.published(room)} of {count} published"
            time.sleep(0.1)


@pytest.fixture
def world(matrix_settings, settings, new_page, live_server, live_edge, appservice_tokens) -> LiveWorld:
    settings.MATRIX_APPSERVICE_HS_TOKEN = appservice_tokens["hs_token"]
    settings.MATRIX_APPSERVICE_AS_TOKEN = appservice_tokens["as_token"]
    settings.MATRIX_APPSERVICE_BOT = appservice_tokens["bot"]
    settings.LIVE_SUBSCRIBE_PATH = "/live/"
    settings.LIVE_PUBLISH_URL = live_edge.nginx.publish_url
    return LiveWorld(matrix_settings, new_page, live_server, live_edge, appservice_tokens)


def sse(url: str, cookies: dict | None = None, count: int = 1, timeout: float = 10) -> tuple[int, list[dict]]:
    """Read `count` server-sent events (or until `timeout` passes without one)."""
    events: list[dict] = []
    headers = {"Accept": "text/event-stream"}
    try:
        with requests.get(url, cookies=cookies, headers=headers, stream=True, timeout=timeout) as answer:
            if answer.status_code != 200:
                return answer.status_code, events
            current: dict = {}
            for line in answer.iter_lines(chunk_size=1, decode_unicode=True):
                if line == "":
                    if "data" in current:
                        events.append(current)
                    current = {}
                    if len(events) >= count:
                        break
                elif line.startswith("id:"):
                    current["id"] = line[3:].strip()
                elif line.startswith("data:"):
                    current["data"] = current.get("data", "") + line[5:].lstrip()
    except requests.exceptions.ConnectionError:
        pass  # read timeout while streaming: what came so far
    return 200, events


def sync_requests(page_requests: list[str]) -> int:
    return sum("/_matrix/client/v3/sync" in url for url in page_requests)


def record_requests(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def open_recording(world: LiveWorld, person, room: ChatRoom):
    """The room's chat page opened as `person`, ready, with every request it made recorded."""
    page = world.open(person, room, start=False)
    seen = record_requests(page)
    page.goto(world.url(room))
    wait_ready(page)
    return page, seen


# -- the homeserver's pushes --------------------------------------------------------------------
def test_homeserver_pushes_a_message_once_and_a_replayed_transaction_is_published_once(world):
    room = world.room("Keynote")
    alice = world.person(room, "Alice")
    world.hs.send(alice.token, room.room_id, "hello from the keynote")
    world.wait_published(room, 1)
    status, events = sse(world.front + f"/live/{world.channel(room)}", cookies=guest_cookie("Gwen"))
    assert status == 200
    shown = json.loads(events[0]["data"])
    assert shown["content"]["body"] == "hello from the keynote"
    assert shown["sender"] == alice.user_id and shown["name"] == "Alice"
    assert set(shown) <= {"event_id", "type", "sender", "origin_server_ts", "content", "name"}

    # The homeserver retries a transaction whose answer it lost: same txnId, same events.
    event = {
        "type": "m.room.message",
        "room_id": room.room_id,
        "sender": alice.user_id,
        "event_id": "$replayed" + uuid.uuid4().hex,
        "origin_server_ts": int(time.time() * 1000),
        "content": {"msgtype": "m.text", "body": "sent twice"},
    }
    before = world.published(room)
    txn = "txn-" + uuid.uuid4().hex
    for _ in range(2):
        answer = hs_put(world, txn, {"events": [event]})
        assert answer.status_code == 200 and answer.json() == {}
    assert world.published(room) == before + 1
    assert AppserviceTransaction.objects.get(txn_id=txn).events == 1


def test_only_what_the_chat_shows_is_published(world):
    room = world.room("Quiet")
    alice = world.person(room, "Alice")  # her join (membership) is pushed too, and dropped
    world.hs.call(
        "PUT",
        f"/_matrix/client/v3/rooms/{quote(room.room_id)}/typing/{quote(alice.user_id)}",
        alice.token,
        json={"typing": True, "timeout": 5000},
    )
    world.hs.call(
        "PUT", f"/_matrix/client/v3/rooms/{quote(room.room_id)}/state/m.room.topic", json={"topic": "no one reads this"}
    )
    event_id = world.hs.send(alice.token, room.room_id, "the only message")
    world.hs.call(
        "PUT",
        f"/_matrix/client/v3/rooms/{quote(room.room_id)}/redact/{quote(event_id)}/{uuid.uuid4().hex}",
        alice.token,
        json={},
    )
    world.wait_published(room, 2)
    time.sleep(1)
    _, events = sse(world.front + f"/live/{world.channel(room)}", cookies=guest_cookie("Gwen"), count=5, timeout=3)
    kinds = [json.loads(e["data"])["type"] for e in events]
    assert kinds == ["m.room.message", "m.room.redaction"]


def hs_put(world: LiveWorld, txn: str, body: dict, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token != "" else {}
    if token is None:
        headers = {"Authorization": f"Bearer {world.tokens['hs_token']}"}
    url = world.edge.nginx.topology.internal_url + f"/_matrix/app/v1/transactions/{txn}"  # where Synapse pushes
    return requests.put(url, json=body, headers=headers, timeout=10)


def test_a_forged_hs_token_is_refused_and_publishes_nothing(world):
    room = world.room("Forged")
    before = world.published(room)
    event = {
        "type": "m.room.message",
        "room_id": room.room_id,
        "sender": "@mallory:lpcfe.test",
        "event_id": "$forged",
        "content": {"msgtype": "m.text", "body": "fake announcement"},
    }
    forged = hs_put(world, "forged-1", {"events": [event]}, token="not-the-hs-token")
    assert forged.status_code == 403 and forged.json()["errcode"] == "M_FORBIDDEN"
    missing = hs_put(world, "forged-2", {"events": [event]}, token="")
    assert missing.status_code == 401
    # The public site does not take pushes at all: only the loopback server does.
    public = requests.put(world.front + "/_matrix/app/v1/transactions/forged-3", json={"events": [event]}, timeout=10)
    assert public.status_code == 404
    assert world.published(room) == before
    assert not AppserviceTransaction.objects.filter(txn_id__startswith="forged").exists()


# -- who may subscribe ---------------------------------------------------------------------------
def guest_cookie(name: str) -> dict:
    return {settings.SESSION_COOKIE_NAME: factories.guest_client(name).cookies[settings.SESSION_COOKIE_NAME].value}


def test_a_guest_is_refused_a_non_public_channel_and_admitted_to_a_public_one(world):
    hall = world.room("Hall B", kind=Room.Kind.SESSION)
    town = world.room("Town hall")
    gwen = guest_cookie("Gwen")
    assert sse(world.front + f"/live/{world.channel(hall)}", cookies=gwen, timeout=2)[0] == 403
    assert sse(world.front + f"/live/{world.channel(town)}", cookies=gwen, timeout=2)[0] == 200
    assert sse(world.front + f"/live/{world.channel(town)}", timeout=2)[0] == 403  # no session, no ticket
    # An attendee may read the session room's channel.
    user = factories.person("alice@example.org", first_name="Alice")
    client = Client()
    client.force_login(user)
    alice = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
    assert sse(world.front + f"/live/{world.channel(hall)}", cookies=alice, timeout=2)[0] == 200


def test_a_guest_reads_nothing_once_guest_mode_is_off(world):
    town = world.room("Town hall")
    gwen = guest_cookie("Gwen")
    assert sse(world.front + f"/live/{world.channel(town)}", cookies=gwen, timeout=2)[0] == 200
    guests.set_mode(False, changed_by="organiser")
    try:
        assert sse(world.front + f"/live/{world.channel(town)}", cookies=gwen, timeout=2)[0] == 403
    finally:
        guests.set_mode(True, changed_by="organiser")


# -- the chat page -----------------------------------------------------------------------------------
def test_two_attendees_chat_over_the_live_stream_without_syncing(world):
    room = world.room("Live hall")
    alice = world.person(room, "Alice")
    bob = world.person(room, "Bob")
    world.hs.send(bob.token, room.room_id, "before you came")
    world.wait_published(room, 1)
    page, seen = open_recording(world, alice, room)
    li_with(page, "before you came").wait_for()  # first paint from nchan's buffer
    post(page, "hello over the stream")
    li_with(page, "hello over the stream").wait_for()
    assert page.locator("#chat-pending li").count() == 0  # confirmed by the stream
    reply = world.hs.send(bob.token, room.room_id, "reply from Bob")
    li_with(page, "reply from Bob").wait_for()
    assert message_texts(page) == ["before you came", "hello over the stream", "reply from Bob"]
    # Edits and redactions travel the same stream.
    world.hs.send(
        bob.token,
        room.room_id,
        "* reply from Bob, edited",
        **{
            "m.new_content": {"msgtype": "m.text", "body": "reply from Bob, edited"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": reply},
        },
    )
    li_with(page, "reply from Bob, edited").locator(".edited").wait_for()
    first = page.locator("#chat-messages li.msg").first.get_attribute("data-id")
    world.hs.call(
        "PUT",
        f"/_matrix/client/v3/rooms/{quote(room.room_id)}/redact/{quote(first)}/{uuid.uuid4().hex}",
        bob.token,
        json={},
    )
    page.locator(f'#chat-messages li.msg.deleted[data-id="{first}"]').wait_for()
    assert sync_requests(seen) == 0
    assert any("/live/" in url for url in seen)


def test_a_guest_reads_live_without_a_matrix_account(world):
    room = world.room("Open day")
    alice = world.person(room, "Alice")
    world.hs.send(alice.token, room.room_id, "Welcome, guests")
    page = world.open(None, room, start=False, guest="Gwen")
    seen = record_requests(page)
    page.goto(world.url(room))
    li_with(page, "Welcome, guests").wait_for()
    assert page.locator("#chat-input").is_disabled()
    assert sync_requests(seen) == 0
    assert not MatrixAccount.objects.filter(kind=MatrixAccount.Kind.GUEST, on_server=True).exists()


def test_a_framed_page_subscribes_with_single_use_tickets(world):
    from chat_embed.handoff import make_chat_ticket

    room = world.room("Framed")
    alice = world.person(room, "Alice")
    world.hs.send(alice.token, room.room_id, "seen in the frame")
    page = world.open(None, room)  # no cookies at all, like a frame on BBB's site
    seen = record_requests(page)
    page.goto(world.url(room, ticket=make_chat_ticket(alice.user, room.room)))
    li_with(page, "seen in the frame").wait_for()
    subscriptions = [url for url in seen if "/live/room" in url]
    assert subscriptions and all("ticket=" in url for url in subscriptions)
    # A ticket is good for one subscription only.
    gone = re.search(r"ticket=([^&]+)", subscriptions[0]).group(1)
    assert sse(world.front + f"/live/{world.channel(room)}?ticket={gone}", timeout=2)[0] == 403


def test_nginx_restarted_mid_stream_viewers_resume_and_nothing_is_lost_or_doubled(world):
    room = world.room("Restart")
    alice = world.person(room, "Alice")
    bob = world.person(room, "Bob")
    page, seen = open_recording(world, alice, room)
    world.hs.send(bob.token, room.room_id, "before the restart")
    li_with(page, "before the restart").wait_for()
    world.edge.nginx.stop()
    try:
        for n in range(3):
            world.hs.send(bob.token, room.room_id, f"during the restart {n}")
        time.sleep(0.5)
    finally:
        world.edge.nginx.start()
    for n in range(3):
        li_with(page, f"during the restart {n}").wait_for(timeout=40_000)
    world.hs.send(bob.token, room.room_id, "after the restart")
    li_with(page, "after the restart").wait_for(timeout=20_000)
    texts = message_texts(page)
    expected = ["before the restart", *[f"during the restart {n}" for n in range(3)], "after the restart"]
    assert texts == expected
    assert sync_requests(seen) == 0  # it resumed on the live stream, not by falling back


def test_with_nchan_down_the_chat_falls_back_to_sync_and_returns_to_live(world):
    room = world.room("Fallback")
    alice = world.person(room, "Alice")
    bob = world.person(room, "Bob")
    page, seen = open_recording(world, alice, room)
    world.edge.nginx.stop()
    try:
        bob_says = "while the live stream is down"
        world.hs.send(bob.token, room.room_id, bob_says)
        li_with(page, bob_says).wait_for(timeout=40_000)
        assert sync_requests(seen) > 0
        post(page, "sent during the fallback")
        li_with(page, "sent during the fallback").wait_for(timeout=20_000)
        assert message_texts(page).count(bob_says) == 1
        assert page.get_attribute("#chat", "data-transport") == "sync"
    finally:
        world.edge.nginx.start()
    # The live stream is back: the page returns to it (first try 7.5–12.5 s after falling back).
    page.wait_for_selector('#chat[data-transport="live"]', timeout=40_000)
    world.hs.send(bob.token, room.room_id, "live again")
    li_with(page, "live again").wait_for(timeout=20_000)
    texts = message_texts(page)
    assert texts.count(bob_says) == 1 and texts.count("live again") == 1


def test_without_a_live_endpoint_the_page_syncs(world, settings):
    settings.LIVE_SUBSCRIBE_PATH = ""
    room = world.room("Demo")
    alice = world.person(room, "Alice")
    bob = world.person(room, "Bob")
    page, seen = open_recording(world, alice, room)
    world.hs.send(bob.token, room.room_id, "over sync")
    li_with(page, "over sync").wait_for()
    assert sync_requests(seen) > 0
    assert not any("/live/" in url for url in seen)


# -- history -----------------------------------------------------------------------------------------
def test_load_earlier_pages_come_from_one_shared_cache_entry(world, synapse):
    room = world.room("History")
    alice = world.person(room, "Alice")
    first = world.hs.send(alice.token, room.room_id, "the oldest")
    for n in range(5):
        world.hs.send(alice.token, room.room_id, f"old {n}")
    world.wait_published(room, 6)
    anchor = world.hs.send(alice.token, room.room_id, "the anchor")
    url = world.front + f"/chat/{room.room.slug}/history/?before={quote(anchor)}"
    gwen = guest_cookie("Gwen")
    before = synapse.count_requests("/context/")
    pages = [requests.get(url, cookies=cookie, timeout=10) for cookie in (gwen, guest_cookie("Gus"), gwen)]
    assert all(p.status_code == 200 for p in pages)
    assert pages[0].json() == pages[1].json() == pages[2].json()
    bodies = [ev["content"]["body"] for ev in pages[0].json()["chunk"]]
    assert bodies == [*[f"old {n}" for n in reversed(range(5))], "the oldest"]
    assert pages[0].json()["chunk"][-1]["event_id"] == first
    assert synapse.count_requests("/context/") - before == 1  # one homeserver read for three viewers
    hall = world.room("Private history", kind=Room.Kind.SESSION)
    refused = requests.get(world.front + f"/chat/{hall.room.slug}/history/?before={quote(anchor)}", cookies=gwen)
    assert refused.status_code == 403


def test_load_earlier_in_the_page_reads_the_front_end_history(world):
    room = world.room("Scrollback")
    alice = world.person(room, "Alice")
    # Older than anything the channel holds: nchan's buffer is emptied after it.
    world.hs.send(alice.token, room.room_id, "long ago")
    world.wait_published(room, 1)
    requests.delete(f"{world.edge.nginx.publish_url}/{world.channel(room)}", timeout=5)  # the buffer forgot it
    world.hs.send(alice.token, room.room_id, "recent")
    page = world.open(alice, room)
    li_with(page, "recent").wait_for()
    assert message_texts(page) == ["recent"]
    page.click("#chat-earlier")
    li_with(page, "long ago").wait_for()
    assert message_texts(page) == ["long ago", "recent"]


# -- several nginx servers, one Redis ----------------------------------------------------------------
def test_two_nginx_servers_sharing_one_redis_deliver_the_same_stream(world):
    second = world.edge.another_nginx()
    room = world.room("Two servers")
    alice = world.person(room, "Alice")
    world.hs.send(alice.token, room.room_id, "published through the first nginx")
    world.wait_published(room, 1)
    gwen = guest_cookie("Gwen")
    _, via_second = sse(second.site_url + f"/live/{world.channel(room)}", cookies=gwen)
    _, via_first = sse(world.front + f"/live/{world.channel(room)}", cookies=gwen)
    assert json.loads(via_second[0]["data"])["content"]["body"] == "published through the first nginx"
    assert via_second[0]["id"] == via_first[0]["id"]  # one message ID across servers: resume works on either
    assert world.published(room, second.publish_url) == world.published(room)


# -- the organiser's side: registration and the bot ---------------------------------------------------
def test_registration_names_the_bot_and_our_rooms_aliases(settings, tmp_path):
    import yaml
    from django.core.management import call_command

    settings.MATRIX_SERVER_NAME = "conf.example"
    settings.MATRIX_APPSERVICE_HS_TOKEN, settings.MATRIX_APPSERVICE_AS_TOKEN = "hs-secret", "as-secret"
    settings.MATRIX_ROOM_ALIAS_PREFIX = "lpc2026-"
    out = tmp_path / "lpcfe-live.yaml"
    call_command("appservice_registration", "--url", "http://10.0.0.5:8000", "--out", str(out))
    reg = yaml.safe_load(out.read_text())
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert (reg["url"], reg["hs_token"], reg["as_token"]) == ("http://10.0.0.5:8000", "hs-secret", "as-secret")
    assert reg["sender_localpart"] == "lpcfe-live" and reg["receive_ephemeral"] is False
    [users] = reg["namespaces"]["users"]
    assert re.fullmatch(users["regex"], "@lpcfe-live:conf.example") and users["exclusive"]
    [aliases] = reg["namespaces"]["aliases"]
    assert re.fullmatch(aliases["regex"], "#lpc2026-kernel-summit:conf.example")
    assert not re.fullmatch(aliases["regex"], "#other-kernel-summit:conf.example")


def test_provisioning_joins_the_bot_to_every_room(world, settings):
    from chat_embed.provisioning import Provisioner

    hall = world.room("Bot hall", kind=Room.Kind.SESSION)
    world.hs.call("POST", f"/_matrix/client/v3/rooms/{quote(hall.room_id)}/leave", world.hs.token(world.bot), json={})
    client = MatrixClient(world.hs.url, world.hs.admin_token)
    provisioner = Provisioner(client, settings.MATRIX_SERVER_NAME)
    provisioner.provision_live_bot()
    assert provisioner.report.failures == []
    assert client.membership(hall.room_id, world.bot) == "join"
    # Joined again, the homeserver pushes the room: a message reaches its channel.
    alice = world.person(hall, "Alice")
    world.hs.send(alice.token, hall.room_id, "pushed after provisioning")
    world.wait_published(hall, 1)
