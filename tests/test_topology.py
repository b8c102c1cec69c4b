"""The production topology on loopback, driven through nginx: two gunicorn front ends sharing a Redis
cache, Synapse as a main process, an event persister and two sync workers replicating over Redis,
all started from the files `lpcfe.deployment` writes (bench.stack.Stack with synapse_workers=2).

Starting it takes about a minute (PostgreSQL databases, slapd, five Synapse processes), so the tests
share one stack and are marked `topology`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from bench.data import MAIN_ROOM, make_attendees, write_attendees, write_schedule
from chat_embed.ids import email_to_user_id
from tests.chatkit import li_with, message_texts, post, wait_ready
from tests.fixtures.browser import CHROMIUM

pytestmark = [pytest.mark.topology, pytest.mark.browser]

ATTENDEES = 30  # the first ten log in and join; the rest are candidates for the two workers


def _can_start() -> bool:
    needed = ("/usr/sbin/nginx", "/usr/bin/redis-server", "/usr/sbin/slapd", CHROMIUM)
    return os.geteuid() == 0 and shutil.which("pg_lsclusters") is not None and all(Path(p).exists() for p in needed)


class Conference:
    """The running topology with a loaded conference."""

    def __init__(self, stack, attendees, urls) -> None:
        self.stack = stack
        self.attendees = attendees
        self.urls = urls
        self.site = stack.topology.site_url
        self.matrix = stack.topology.matrix_url
        self.server_name = stack.topology.server_name

    def user_id(self, attendee) -> str:
        return email_to_user_id(attendee.email, self.server_name)

    def token(self, attendee) -> str:
        """A token for the attendee, minted on the main process (the admin API is not behind nginx)."""
        synapse = self.stack.synapse
        answer = requests.post(
            f"{synapse.url}/_synapse/admin/v1/users/{quote(self.user_id(attendee))}/login",
            headers={"Authorization": f"Bearer {synapse.admin_token}"},
            json={},
            timeout=15,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def served_by(self, attendee, path: str = "/sync") -> dict[str, int]:
        """How many of the attendee's requests on `path` each Synapse process answered (200). A
        long-poll its browser gave up on is logged as 499 when Synapse notices, maybe much later."""
        # Tokens minted with the admin API log as {@admin|@user}; one's own as {@user}.
        needle = self.user_id(attendee) + "}"
        counts = {}
        for name in self.stack.synapse.worker_names:
            log = self.stack.synapse.worker_log(name)
            lines = log.read_text(errors="replace").splitlines() if log.exists() else []
            answered = [line for line in lines if "Processed request" in line and 'B 200 "' in line]
            counts[name] = sum(1 for line in answered if needle in line and path in line)
        return counts

    def chat_room_id(self) -> str:
        return self.stack.facts(MAIN_ROOM)["chat_room_id"]


@pytest.fixture(scope="session")
def conference(tmp_path_factory):
    if not _can_start():
        pytest.skip("needs root, Debian's PostgreSQL, slapd, nginx, redis-server and chromium (bin/setup --dev)")
    from bench.scenarios import Urls
    from bench.stack import Stack

    root = tmp_path_factory.mktemp("topology")
    with contextlib.ExitStack() as cleanup:
        stack = Stack(root, workers=1, threads=4, bcrypt_rounds=4, keep=False, synapse_workers=2, frontends=2)
        stack.start(cleanup)
        attendees = make_attendees(ATTENDEES)
        stack.front.manage("import_attendees", str(write_attendees(root / "attendees.tsv", attendees)), "--no-progress")
        (root / "schedule").mkdir()
        stack.front.manage("import_schedule", str(write_schedule(root / "schedule", 1)))
        stack.front.manage("provision_matrix", "--no-progress")
        urls = Urls(**stack.front.probe("urls", MAIN_ROOM))
        yield Conference(stack, attendees, urls)


def log_in_and_open_chat(conference: Conference, page, attendee) -> None:
    page.goto(conference.site + conference.urls.login)
    page.get_by_label("Email address").fill(attendee.email)
    page.get_by_label("Registration code").fill(attendee.regcode)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in", exact=True).click()
    assert not page.url.split("?")[0].endswith(conference.urls.login), page.inner_text("body")[:500]
    page.goto(conference.site + conference.urls.chat_room)
    wait_ready(page, timeout=40_000)


def run_async(coroutine) -> None:
    """The bench's HTTP flows, in a thread: Playwright's sync API keeps an event loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def sync_once(conference: Conference, attendee) -> str:
    """One sync through nginx; the worker whose log shows it."""
    before = conference.served_by(attendee)
    answer = requests.get(
        f"{conference.matrix}/_matrix/client/v3/sync",
        params={"timeout": "0", "filter": '{"room":{"rooms":[]}}'},
        headers={"Authorization": f"Bearer {conference.token(attendee)}"},
        timeout=30,
    )
    assert answer.status_code == 200
    time.sleep(0.2)  # the access line is written when the response is finished
    served = {k: v - before[k] for k, v in conference.served_by(attendee).items() if v > before[k]}
    assert len(served) == 1, served
    return next(iter(served))


def on_two_workers(conference: Conference, candidates) -> tuple[dict, dict]:
    """Two attendees whose syncs nginx sends to different workers."""
    seen: dict[str, object] = {}
    for attendee in candidates:
        seen.setdefault(sync_once(conference, attendee), attendee)
        if len(seen) == 2:
            (first, a), (second, b) = seen.items()
            return {"worker": first, "who": a}, {"worker": second, "who": b}
    raise AssertionError(f"all of {len(candidates)} attendees synced on the same worker: {list(seen)}")


def test_attendees_log_in_and_join_through_nginx_and_two_front_ends_create_the_room_once(conference):
    """Ten attendees log in through nginx and click join at the same instant; nginx spreads them
    over both gunicorn instances, and the shared Redis cache's lock lets exactly one create the
    BBB meeting."""
    from bench.scenarios import join, login
    from bench.web import Browser, new_session

    attendees = conference.attendees[:10]
    creates_before = conference.stack.facts(MAIN_ROOM)["bbb_creates"]

    async def herd():
        http = new_session(limit=40)
        try:
            browsers = [Browser(http, conference.site) for _ in attendees]
            await asyncio.gather(*(login(b, conference.urls, a) for b, a in zip(browsers, attendees, strict=True)))
            await asyncio.gather(*(join(b, conference.urls) for b in browsers))
        finally:
            await http.close()

    run_async(herd())
    assert conference.stack.facts(MAIN_ROOM)["bbb_creates"] - creates_before == 1
    access = (conference.stack.nginx.access_log).read_text()
    joins = re.findall(rf'"POST {re.escape(conference.urls.join)} HTTP/1.1" 30[23] (\S+)', access)
    assert len(joins) >= 10
    assert {j for j in joins} == set(conference.stack.topology.gunicorn_binds)  # both front ends took joins
    # Static files come from nginx itself (its 7-day expiry; whitenoise would say otherwise).
    css = requests.get(conference.site + "/static/css/lpcfe.css", timeout=10)
    assert css.status_code == 200 and "max-age=604800" in css.headers.get("Cache-Control", "")


def test_two_attendees_chat_with_their_syncs_on_different_workers(conference, browser_page):
    alice, bob = on_two_workers(conference, conference.attendees[10:])
    a_before, b_before = conference.served_by(alice["who"]), conference.served_by(bob["who"])
    pa, pb = browser_page(timeout=20_000), browser_page(timeout=20_000)
    log_in_and_open_chat(conference, pa, alice["who"])
    log_in_and_open_chat(conference, pb, bob["who"])

    post(pa, "Hello from the first worker")
    li_with(pb, "Hello from the first worker").wait_for(timeout=15_000)
    post(pb, "Answer from the second worker")
    li_with(pa, "Answer from the second worker").wait_for(timeout=15_000)

    # Every sync of each person went to that person's worker and never to the other.
    time.sleep(1)
    a_now, b_now = conference.served_by(alice["who"]), conference.served_by(bob["who"])
    a_served = {k: a_now[k] - a_before[k] for k in a_now}
    b_served = {k: b_now[k] - b_before[k] for k in b_now}
    assert a_served[alice["worker"]] >= 2 and a_served[bob["worker"]] == 0, a_served
    assert b_served[bob["worker"]] >= 2 and b_served[alice["worker"]] == 0, b_served
    # The workers handed the messages to the event persister (the events stream's writer) over
    # HTTP replication.
    persister_log = conference.stack.synapse.worker_log("persister1").read_text(errors="replace")
    assert re.search(r"Processed request: .* \"POST /_synapse/replication/send_events?/", persister_log)


def test_a_worker_killed_mid_chat_its_users_carry_on_through_another_with_nothing_lost_or_doubled(
    conference, browser_page
):
    alice, bob = on_two_workers(conference, conference.attendees[10:])
    pa, pb = browser_page(timeout=20_000), browser_page(timeout=20_000)
    log_in_and_open_chat(conference, pa, alice["who"])
    log_in_and_open_chat(conference, pb, bob["who"])
    post(pa, "before the crash")
    li_with(pb, "before the crash").wait_for(timeout=15_000)

    synapse = conference.stack.synapse
    bob_on_other = conference.served_by(bob["who"])[alice["worker"]]
    synapse.kill_worker(bob["worker"])  # Bob's long-poll is cut off mid-request
    try:
        post(pa, "while Bob's worker is down")
        li_with(pb, "while Bob's worker is down").wait_for(timeout=30_000)
        post(pb, "Bob, through another worker")
        li_with(pa, "Bob, through another worker").wait_for(timeout=30_000)
        time.sleep(1)
        # Bob's syncs now land on the worker that is left.
        assert conference.served_by(bob["who"])[alice["worker"]] > bob_on_other
    finally:
        synapse.start_worker(bob["worker"])
    # nginx gives a failed server another try after its fail_timeout (10 s): then Bob is back on his
    # own worker, as the hash says.
    deadline = time.monotonic() + 40
    while sync_once(conference, bob["who"]) != bob["worker"]:
        assert time.monotonic() < deadline, "the restarted worker never got its users back"
        time.sleep(1)

    for text in ("before the crash", "while Bob's worker is down", "Bob, through another worker"):
        assert message_texts(pa).count(text) == 1 and message_texts(pb).count(text) == 1, text
    answer = requests.get(
        f"{conference.matrix}/_matrix/client/v3/rooms/{quote(conference.chat_room_id())}/messages",
        params={"dir": "b", "limit": "50", "filter": '{"types":["m.room.message"]}'},
        headers={"Authorization": f"Bearer {conference.token(alice['who'])}"},
        timeout=15,
    )
    bodies = [e["content"].get("body") for e in answer.json()["chunk"]]
    for text in ("while Bob's worker is down", "Bob, through another worker"):
        assert bodies.count(text) == 1, bodies


def test_while_redis_is_down_the_front_end_serves_from_the_database_and_chat_replication_resumes(conference):
    """Redis holds the front end's cache and Synapse's replication bus, nothing that must survive.
    While it is down the front end keeps its shared cache in the database table: attendees log in,
    join over both gunicorn instances (the room created once) and enter the meeting through the
    single-use join link, whichever instance stashed it. After it is back (empty), the cache is in
    Redis again and a message sent on one worker still reaches a sync on the other."""
    from bench.scenarios import join, login
    from bench.web import Browser, new_session

    alice, bob = on_two_workers(conference, conference.attendees[10:])
    attendees = conference.attendees[20:26]
    creates_before = conference.stack.facts(MAIN_ROOM)["bbb_creates"]
    enter = conference.urls.room + "enter/"
    logs = {front.log_path: front.log_path.stat().st_size for front in conference.stack.fronts}

    def said() -> str:
        """What the front ends have logged since the test began."""
        return "".join(path.read_bytes()[size:].decode(errors="replace") for path, size in logs.items())

    async def log_in_join_and_enter(outcomes: list[str]) -> None:
        http = new_session(limit=20)
        try:
            browsers = [Browser(http, conference.site) for _ in attendees]
            await asyncio.gather(*(login(b, conference.urls, a) for b, a in zip(browsers, attendees, strict=True)))
            await asyncio.gather(*(join(b, conference.urls) for b in browsers))
            for browser in browsers:
                answer = await browser.page("GET", enter, follow=False, step="enter")
                outcomes.append(answer.headers.get("Location", "") if answer.status == 302 else answer.text)
        finally:
            await http.close()

    conference.stack.redis.stop()
    try:
        outcomes: list[str] = []
        run_async(log_in_join_and_enter(outcomes))
        assert requests.get(conference.site + conference.urls.login, timeout=10).status_code == 200
    finally:
        conference.stack.redis.start()
    assert conference.stack.facts(MAIN_ROOM)["bbb_creates"] - creates_before == 1
    assert len(outcomes) == len(attendees) and all("/api/join?" in location for location in outcomes), outcomes
    assert "Redis cannot be reached" in said() and "the cache is kept in the database" in said()

    async def log_in_again() -> None:
        http = new_session(limit=4)
        try:
            await login(Browser(http, conference.site), conference.urls, conference.attendees[0])
        finally:
            await http.close()

    run_async(log_in_again())  # Redis is tried again within seconds; the login works either way
    time.sleep(6)
    run_async(log_in_again())
    assert "Redis answers again" in said()

    room = conference.chat_room_id()
    bob_before = conference.served_by(bob["who"])
    bob_token = conference.token(bob["who"])
    headers = {"Authorization": f"Bearer {bob_token}"}
    first = requests.get(
        f"{conference.matrix}/_matrix/client/v3/sync", params={"timeout": "0"}, headers=headers, timeout=30
    )
    since = first.json()["next_batch"]
    text = f"after the Redis restart {time.monotonic()}"
    deadline = time.monotonic() + 60
    sent = False
    while time.monotonic() < deadline:  # Synapse's processes reconnect to Redis on their own, within seconds
        if not sent:
            put = requests.put(
                f"{conference.matrix}/_matrix/client/v3/rooms/{quote(room)}/send/m.room.message/t{time.time_ns()}",
                headers={"Authorization": f"Bearer {conference.token(alice['who'])}"},
                json={"msgtype": "m.text", "body": text},
                timeout=30,
            )
            sent = put.status_code == 200
            if not sent:
                time.sleep(1)
                continue
        answer = requests.get(
            f"{conference.matrix}/_matrix/client/v3/sync",
            params={"timeout": "5000", "since": since},
            headers=headers,
            timeout=30,
        )
        events = answer.json().get("rooms", {}).get("join", {}).get(room, {}).get("timeline", {}).get("events", [])
        if any(e.get("content", {}).get("body") == text for e in events):
            break
        since = answer.json().get("next_batch", since)
    else:
        raise AssertionError("the message sent after the Redis restart never reached the other worker's sync")
    # Bob's syncs stayed on his worker; Alice's send went through another process.
    bob_after = conference.served_by(bob["who"])
    assert bob_after[bob["worker"]] - bob_before[bob["worker"]] >= 2
    assert bob_after[alice["worker"]] == bob_before[alice["worker"]]
