"""Scenario 3, the chat open storm and message delivery, and the seed systems' flow (the baseline).

The simulated chat client makes the requests the embedded client (chat_embed/static/chat_embed/
chat.js) makes, in the same order and with the same parameters: the chat page, the token
hand-off (POST with the CSRF header), the first sync with the client's inline filter and
timeout 0, then long-polling syncs with `since` and the client's timeout, `set_presence=offline`,
`/messages` with the client's event filter to close a gap after a limited sync, and sends as
PUT with a transaction ID. The numbers (timeline limit, long-poll timeout, gap size) are read
from chat.js itself, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urljoin

from bench.report import Scenario, percentile
from bench.scenarios import Urls, run_flows, spread, summarise_timings
from bench.web import Browser, FlowError, Traffic, parse_page

CHAT_JS = Path(__file__).resolve().parent.parent / "chat_embed" / "static" / "chat_embed" / "chat.js"
MESSAGE_MARK = "bench-msg:"


@dataclass(frozen=True)
class ClientShape:
    """The embedded client's request parameters."""

    timeline_limit: int = 30
    first_sync_limit: int = 1
    sync_timeout_ms: int = 30000
    request_timeout_ms: int = 20000
    gap_limit: int = 100
    page_limit: int = 50
    sync_pace_ms: int = 400
    sync_pace_per_member_ms: int = 10
    sync_pace_max_ms: int = 5000
    shown_types: tuple[str, ...] = ("m.room.message", "m.room.redaction")
    source: str = "defaults (chat.js not found)"

    def sync_filter(self, room_id: str, first: bool = False) -> str:
        """chat.js's syncFilter: the first sync takes the newest event of any type."""
        none = {"not_types": ["*"]}
        limit = self.first_sync_limit if first else self.timeline_limit
        timeline: dict[str, Any] = {"limit": limit, "lazy_load_members": True}
        if not first:
            timeline["types"] = [*self.shown_types, "m.room.power_levels"]
        return json.dumps(
            {
                "presence": none,
                "account_data": none,
                "room": {
                    "rooms": [room_id],
                    "state": {"lazy_load_members": True, "types": ["m.room.member", "m.room.power_levels"]},
                    "timeline": timeline,
                    "ephemeral": none,
                    "account_data": none,
                },
            },
            separators=(",", ":"),
        )

    def sync_pace(self, members: int) -> float:
        """chat.js's syncPace(): seconds to pause after a sync that brought events."""
        pace = min(self.sync_pace_max_ms, max(self.sync_pace_ms, members * self.sync_pace_per_member_ms))
        return pace * (0.8 + random.random() * 0.4) / 1000

    def event_filter(self) -> str:
        return json.dumps({"lazy_load_members": True, "types": list(self.shown_types)}, separators=(",", ":"))


def client_shape(path: Path = CHAT_JS) -> ClientShape:
    """Read the client's constants from chat.js (fails loudly if the file changed shape)."""
    if not path.exists():
        return ClientShape()
    text = path.read_text(encoding="utf-8")

    def const(name: str) -> int:
        found = re.search(rf"const {name} = (\d+)", text)
        if not found:
            raise RuntimeError(f"{path}: no `const {name} = <number>`; update bench/chat.py to the client")
        return int(found.group(1))

    types = re.search(r"const SHOWN_TYPES = \[([^\]]*)\]", text)
    if (
        not types
        or "lazy_load_members: true" not in text
        or 'set_presence: "offline"' not in text
        or 'if (!first) timeline.types = [...SHOWN_TYPES, "m.room.power_levels"];' not in text
        or 'types: ["m.room.member", "m.room.power_levels"]' not in text
        or "limit: first ? FIRST_SYNC_LIMIT : TIMELINE_LIMIT" not in text
        or "if (first && backToken) loadEarlier();" not in text
        or "if (busy && !first) await sleep(syncPace(), false);" not in text
    ):
        raise RuntimeError(f"{path}: the sync filter changed; update bench/chat.py to mirror it")
    return ClientShape(
        timeline_limit=const("TIMELINE_LIMIT"),
        first_sync_limit=const("FIRST_SYNC_LIMIT"),
        sync_timeout_ms=const("SYNC_TIMEOUT"),
        request_timeout_ms=const("REQUEST_TIMEOUT"),
        gap_limit=const("GAP_LIMIT"),
        page_limit=const("PAGE_LIMIT"),
        sync_pace_ms=const("SYNC_PACE"),
        sync_pace_per_member_ms=const("SYNC_PACE_PER_MEMBER"),
        sync_pace_max_ms=const("SYNC_PACE_MAX"),
        shown_types=tuple(re.findall(r'"([^"]+)"', types.group(1))),
        source=str(path.relative_to(path.parent.parent.parent.parent)),
    )


# -- one chat client -----------------------------------------------------------------------------------
@dataclass
class ChatClient:
    browser: Browser
    shape: ClientShape
    token: str = ""
    user_id: str = ""
    room_id: str = ""
    homeserver: str = ""
    since: str = ""
    received: dict[int, float] = field(default_factory=dict)  # message number -> monotonic time seen
    members: int = 0  # the room's joined members, from the sync summary (chat.js's joinedCount)
    errors: int = 0
    open_traffic: Traffic = field(default_factory=Traffic)
    open_front_requests: int = 0

    def api(self, path: str, query: dict[str, Any] | None = None) -> str:
        url = self.homeserver.rstrip("/") + "/_matrix/client/v3" + path
        return url + ("?" + urlencode(query) if query else "")

    def room_path(self, suffix: str) -> str:
        return "/rooms/" + quote(self.room_id, safe="") + suffix

    def ingest(self, events: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        for event in events:
            if event.get("type") != "m.room.message":
                continue
            body = (event.get("content") or {}).get("body", "")
            if isinstance(body, str) and body.startswith(MESSAGE_MARK):
                number = body[len(MESSAGE_MARK) :].split(" ", 1)[0]
                if number.isdigit():
                    self.received.setdefault(int(number), now)

    async def handle_sync(self, data: dict[str, Any], first: bool) -> bool:
        """Like chat.js's handleSync; True when the sync brought timeline events (a busy room)."""
        room = ((data.get("rooms") or {}).get("join") or {}).get(self.room_id)
        if room is None:
            if first:
                raise FlowError("first sync: the room is not among the joined rooms")
            return False
        count = (room.get("summary") or {}).get("m.joined_member_count")
        if isinstance(count, int):
            self.members = count
        timeline = room.get("timeline") or {}
        if not first and timeline.get("limited") and timeline.get("prev_batch"):
            # What chat.js's fillGap does: fetch what the limited sync skipped.
            query = {"dir": "b", "from": timeline["prev_batch"], "limit": self.shape.gap_limit}
            query["filter"] = self.shape.event_filter()
            gap = await self.browser.matrix(
                "GET", self.api(self.room_path("/messages"), query), token=self.token, step="chat.gap /messages"
            )
            if gap.status == 200:
                self.ingest(list(reversed(gap.json().get("chunk") or [])))
        self.ingest(timeline.get("events") or [])
        return bool(timeline.get("events"))

    async def load_earlier(self, data: dict[str, Any]) -> None:
        """chat.js after the first sync: up to 4 pages of /messages until one has a message."""
        timeline = data["rooms"]["join"][self.room_id].get("timeline") or {}
        start = timeline.get("prev_batch")
        for _page in range(4):
            if not start:
                return
            query = {"dir": "b", "from": start, "limit": self.shape.page_limit, "filter": self.shape.event_filter()}
            reply = await self.browser.matrix(
                "GET", self.api(self.room_path("/messages"), query), token=self.token, step="chat.4 load earlier"
            )
            if reply.status != 200:
                raise FlowError(f"load earlier: HTTP {reply.status} {reply.text[:100]!r}")
            page = reply.json()
            chunk = page.get("chunk") or []
            self.ingest(list(reversed(chunk)))
            if any(e.get("type") == "m.room.message" for e in chunk):
                return
            start = page.get("end") if chunk else None

    async def open(self, urls: Urls) -> None:
        """Chat page → token hand-off → first filtered sync: then the client can show and send."""
        before, front_before = Traffic(), self.browser.front.requests
        before.add(self.browser.homeserver)
        page = await self.browser.page("GET", urls.chat_room, step="chat.1 GET chat page")
        if page.status != 200:
            raise FlowError(f"GET chat page: HTTP {page.status}")
        parsed = parse_page(page.text)
        root = parsed.data.get("chat", {})
        if root.get("configured") not in (None, "1"):
            raise FlowError("chat page: chat is not configured")
        for asset in parsed.assets:
            if asset not in self.browser.assets_seen:  # a browser fetches each once, then caches it
                reply = await self.browser.asset(asset)
                if reply.status != 200:
                    raise FlowError(f"chat page asset {asset}: HTTP {reply.status}")
                self.browser.assets_seen.add(asset)
        token_url = root.get("token-url") or urls.chat_token
        csrf = self.browser.cookies.get("csrftoken") or root.get("csrf", "")
        handed = await self.browser.page(
            "POST",
            token_url,
            json_body={},
            headers={"Accept": "application/json", "X-CSRFToken": csrf},
            follow=False,
            step="chat.2 POST token hand-off",
        )
        if handed.status != 200:
            raise FlowError(f"token hand-off: HTTP {handed.status} {handed.text[:100]!r}")
        auth = handed.json()
        if not auth.get("access_token") or not auth.get("room_id") or not auth.get("homeserver"):
            raise FlowError("token hand-off: answer lacks access_token, room_id or homeserver")
        self.token, self.user_id = auth["access_token"], auth.get("user_id", "")
        self.room_id, self.homeserver = auth["room_id"], auth["homeserver"]
        query = {"filter": self.shape.sync_filter(self.room_id, first=True), "timeout": 0, "set_presence": "offline"}
        reply = await self.browser.matrix(
            "GET",
            self.api("/sync", query),
            token=self.token,
            timeout=(self.shape.sync_timeout_ms + self.shape.request_timeout_ms) / 1000,
            step="chat.3 first sync",
        )
        if reply.status != 200:
            raise FlowError(f"first sync: HTTP {reply.status} {reply.text[:100]!r}")
        data = reply.json()
        await self.handle_sync(data, first=True)
        self.since = data.get("next_batch", "")
        await self.load_earlier(data)
        self.open_traffic.requests = self.browser.homeserver.requests - before.requests
        self.open_traffic.bytes_in = self.browser.homeserver.bytes_in - before.bytes_in
        self.open_traffic.bytes_out = self.browser.homeserver.bytes_out - before.bytes_out
        self.open_front_requests = self.browser.front.requests - front_before

    async def sync_forever(self, stop: asyncio.Event) -> None:
        """Long-poll like chat.js's syncLoop until `stop` is set (then the caller cancels us)."""
        failures = 0
        while not stop.is_set():
            query = {
                "filter": self.shape.sync_filter(self.room_id),
                "timeout": self.shape.sync_timeout_ms,
                "set_presence": "offline",
                "since": self.since,
            }
            try:
                reply = await self.browser.matrix(
                    "GET",
                    self.api("/sync", query),
                    token=self.token,
                    timeout=(self.shape.sync_timeout_ms + self.shape.request_timeout_ms) / 1000,
                )
                if reply.status != 200:
                    raise FlowError(f"sync: HTTP {reply.status}")
                data = reply.json()
                busy = await self.handle_sync(data, first=False)
                self.since = data.get("next_batch") or self.since
                failures = 0
                if busy:
                    await asyncio.sleep(self.shape.sync_pace(self.members))
            except FlowError:
                self.errors += 1
                failures += 1
                base = min(30.0, 2 ** min(failures - 1, 5))
                await asyncio.sleep(base / 2 + random.random() * base / 2)

    async def send(self, number: int, txn: str, attempts: int = 6) -> float | None:
        """PUT one message (same transaction ID on every retry, like chat.js); its send time."""
        body = {"msgtype": "m.text", "body": f"{MESSAGE_MARK}{number} from the load generator"}
        url = self.api(self.room_path("/send/m.room.message/" + quote(txn, safe="")))
        sent_at = time.monotonic()
        for attempt in range(1, attempts + 1):
            try:
                reply = await self.browser.matrix("PUT", url, token=self.token, json_body=body, step="chat.send")
                if reply.status == 200:
                    return sent_at
                retry = 0.0
                if reply.status == 429:
                    retry = (reply.json().get("retry_after_ms") or 0) / 1000
                elif reply.status < 500:
                    raise FlowError(f"send: HTTP {reply.status} {reply.text[:80]!r}")
            except FlowError:
                if attempt == attempts:
                    raise
                retry = 0.0
            base = min(30.0, 2 ** (attempt - 1))
            await asyncio.sleep(max(retry, base / 2 + random.random() * base / 2))
        raise FlowError("send: gave up")


# -- 3. chat open storm and delivery ------------------------------------------------------------------
@dataclass
class ChatRun:
    open: Scenario
    delivery: Scenario
    clients: list[ChatClient]


async def chat_storm(
    browsers: list[Browser],
    urls: Urls,
    *,
    clients: int,
    deadline: float,
    concurrency: int,
    rate: float,
    seconds: float,
    grace: float,
    seed: int,
) -> ChatRun:
    shape = client_shape()
    rng = random.Random(seed)
    chosen = [ChatClient(b, shape) for b in rng.sample(browsers, clients)]
    opening = Scenario("chat_open", "3a. chat open storm")
    # Arrivals over the window, like the login herd; the hard limit leaves the last ones time to finish.
    ready = await _open_chats(opening, chosen, urls, spread(clients, deadline), concurrency, deadline + 30)
    opening.extra.update(
        {
            "fe_requests_per_client": _per(ready, lambda c: c.open_front_requests),
            "static_bytes_per_client": _per(ready, lambda c: c.browser.static.bytes_in),
        }
    )
    p95 = opening.pct(95)
    opening.target(
        "all ready within",
        f"{deadline:.0f} s",
        f"{opening.elapsed:.1f} s",
        len(ready) == clients and opening.elapsed <= deadline,
    )
    opening.target("p95 per client", "< 2 s", _ms(p95), None if p95 is None else p95 < 2.0)
    opening.target("errors", "= 0", str(opening.error_count), opening.error_count == 0)

    delivery = Scenario("chat_delivery", "3b. chat delivery")
    if not ready:
        delivery.skipped = "no chat client became ready"
        return ChatRun(opening, delivery, chosen)
    await deliver(delivery, ready, rate=rate, seconds=seconds, grace=grace, rng=rng)
    return ChatRun(opening, delivery, chosen)


async def open_at_once(browsers: list[Browser], urls: Urls, *, concurrency: int, deadline: float) -> Scenario:
    """For the ratio: attendees who have not opened the chat yet all open it at the same instant, as
    the seed flow's clients start, so that both times say how fast each flow gets people ready, not
    how fast they arrive (arriving over the minute, both would be bound by the arrival window)."""
    shape = client_shape()
    chosen = [ChatClient(b, shape) for b in browsers]
    scenario = Scenario("chat_open_at_once", "3c. chat open, all at once")
    await _open_chats(scenario, chosen, urls, [0.0] * len(chosen), concurrency, deadline)
    scenario.target("errors", "= 0", str(scenario.error_count), scenario.error_count == 0)
    return scenario


async def _open_chats(
    scenario: Scenario, chosen: list[ChatClient], urls: Urls, starts: list[float], concurrency: int, deadline: float
) -> list[ChatClient]:
    """Each client opens the chat at its start time; the figures both opening scenarios report.
    Returns the clients that became ready."""

    async def flow(i: int) -> None:
        await chosen[i].open(urls)

    await run_flows(scenario, starts, flow, concurrency=concurrency, deadline=deadline)
    ready = [c for c in chosen if c.since]
    scenario.extra.update(
        {
            "client_shape": chosen[0].shape.source if chosen else None,
            "concurrency_bound": concurrency,
            "all_ready_s": round(scenario.elapsed, 3) if len(ready) == len(chosen) else None,
            "hs_requests_per_client": _per(ready, lambda c: c.open_traffic.requests),
            "hs_bytes_per_client": _per(ready, lambda c: c.open_traffic.bytes_in + c.open_traffic.bytes_out),
            "steps": summarise_timings([c.browser for c in chosen], "chat."),
        }
    )
    return ready


def _per(clients: list[ChatClient], value) -> float | None:
    if not clients:
        return None
    return round(sum(value(c) for c in clients) / len(clients), 1)


async def deliver(
    scenario: Scenario, clients: list[ChatClient], *, rate: float, seconds: float, grace: float, rng: random.Random
) -> None:
    """All clients long-poll; random clients send `rate` messages/s for `seconds`; every client must
    receive every message. Latency per message: from the send to the last client receiving it."""
    stop = asyncio.Event()
    before = [
        (c.browser.homeserver.requests, c.browser.homeserver.bytes_in + c.browser.homeserver.bytes_out) for c in clients
    ]
    pollers = [asyncio.create_task(c.sync_forever(stop)) for c in clients]
    await asyncio.sleep(2.0)  # let every client's first long-poll reach the server
    total = int(rate * seconds)
    sent: dict[int, float] = {}
    send_errors: list[str] = []
    run_tag = secrets.token_hex(4)

    async def send_one(number: int) -> None:
        sender = rng.choice(clients)
        try:
            sent_at = await sender.send(number, f"bench{run_tag}n{number}")
        except FlowError as exc:
            send_errors.append(str(exc))
            return
        if sent_at is not None:
            sent[number] = sent_at

    t0 = time.monotonic()
    scenario.started_at = t0
    scenario.planned = total
    senders = []
    for number in range(total):
        delay = t0 + number / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        senders.append(asyncio.create_task(send_one(number)))
    await asyncio.gather(*senders)
    # Wait until every client has every sent message, or the grace period is over.
    limit = time.monotonic() + grace
    while time.monotonic() < limit:
        if all(all(n in c.received for n in sent) for c in clients):
            break
        await asyncio.sleep(0.25)
    stop.set()
    for task in pollers:
        task.cancel()
    await asyncio.gather(*pollers, return_exceptions=True)
    scenario.finished_at = time.monotonic()

    per_receiver: list[float] = []
    missing = 0
    for number, sent_at in sent.items():
        got = [c.received.get(number) for c in clients]
        missing += sum(1 for g in got if g is None)
        arrived = [g - sent_at for g in got if g is not None]
        per_receiver.extend(arrived)
        if len(arrived) == len(clients):
            scenario.latencies.append(max(arrived))
    for error in send_errors:
        scenario.error(error)
    if missing:
        scenario.errors["deliveries missing"] += missing
    incomplete = len(sent) - len(scenario.latencies)
    after = [
        (c.browser.homeserver.requests, c.browser.homeserver.bytes_in + c.browser.homeserver.bytes_out) for c in clients
    ]
    minutes = max(1e-9, (scenario.finished_at - t0) / 60)
    sync_errors = sum(c.errors for c in clients)
    if sync_errors:
        scenario.errors["sync request failures (retried)"] += sync_errors
    scenario.extra.update(
        {
            "clients": len(clients),
            "messages_sent": len(sent),
            "messages_not_delivered_to_all": incomplete,
            "deliveries_missing": missing,
            "per_receiver_p50_s": _r(percentile(per_receiver, 50)),
            "per_receiver_p95_s": _r(percentile(per_receiver, 95)),
            "hs_requests_per_client_per_min": round(
                sum(a[0] - b[0] for a, b in zip(after, before, strict=True)) / len(clients) / minutes, 1
            ),
            "hs_bytes_per_client_per_min": round(
                sum(a[1] - b[1] for a, b in zip(after, before, strict=True)) / len(clients) / minutes
            ),
            "rate_per_s": rate,
            "send_seconds": seconds,
        }
    )
    p95 = scenario.pct(95)
    scenario.target("p95 send → last receiver", "< 3 s", _ms(p95), None if p95 is None else p95 < 3.0)
    scenario.target("messages lost", "= 0", str(missing + (total - len(sent))), missing == 0 and len(sent) == total)


# -- the seed systems' flow -------------------------------------------------------------------------------
def _mac(secret: str, nonce: str, user: str, password: str) -> str:
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(), b"notadmin"]))
    return mac.hexdigest()


async def seed_flow(
    browser: Browser, homeserver: str, shared_secret: str, admin_token: str, rooms: list[str], localpart: str
) -> int:
    """What LPC 2021's chat did for a person's first page load: create the account at first login
    (registration, bcrypt), auto-join every track room (the server joins them one by one), log in
    with the password (bcrypt again, a new device), then one unfiltered initial sync of every room.
    Returns the bytes of that sync."""
    password = secrets.token_urlsafe(16)
    register = urljoin(homeserver, "/_synapse/admin/v1/register")
    nonce = (await browser.matrix("GET", register, step="seed.1 register nonce")).json()["nonce"]
    created = await browser.matrix(
        "POST",
        register,
        json_body={
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": False,
            "mac": _mac(shared_secret, nonce, localpart, password),
        },
        timeout=600,
        step="seed.2 register",
    )
    if created.status != 200:
        raise FlowError(f"seed register: HTTP {created.status} {created.text[:100]!r}")
    user_id = created.json()["user_id"]
    for room in rooms:
        joined = await browser.matrix(
            "POST",
            urljoin(homeserver, "/_synapse/admin/v1/join/" + quote(room, safe="")),
            token=admin_token,
            json_body={"user_id": user_id},
            timeout=600,
            step="seed.3 auto-join",
        )
        if joined.status != 200:
            raise FlowError(f"seed auto-join: HTTP {joined.status} {joined.text[:100]!r}")
    logged_in = await browser.matrix(
        "POST",
        urljoin(homeserver, "/_matrix/client/v3/login"),
        json_body={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": password,
            "initial_device_display_name": "riot-embedded",
        },
        timeout=600,
        step="seed.4 password login",
    )
    if logged_in.status != 200:
        raise FlowError(f"seed login: HTTP {logged_in.status} {logged_in.text[:100]!r}")
    token = logged_in.json()["access_token"]
    synced = await browser.matrix(
        "GET", urljoin(homeserver, "/_matrix/client/v3/sync?timeout=0"), token=token, timeout=900, step="seed.5 sync"
    )
    if synced.status != 200:
        raise FlowError(f"seed sync: HTTP {synced.status}")
    joined_rooms = (synced.json().get("rooms") or {}).get("join") or {}
    if not set(rooms) <= set(joined_rooms):
        raise FlowError("seed sync: not every track room is in the sync")
    return len(synced.body)


async def baseline(
    browsers: list[Browser],
    homeserver: str,
    shared_secret: str,
    admin_token: str,
    rooms: list[str],
    *,
    clients: int,
    concurrency: int,
    deadline: float,
) -> Scenario:
    """The seed flow for `clients` people, all starting at once (at most `concurrency` in progress)."""
    scenario = Scenario("baseline", "seed flow (baseline)")
    tag = secrets.token_hex(3)
    sync_bytes: list[int] = []

    async def flow(i: int) -> None:
        sync_bytes.append(
            await seed_flow(browsers[i], homeserver, shared_secret, admin_token, rooms, f"seed{tag}-{i:04d}")
        )

    await run_flows(scenario, [0.0] * clients, flow, concurrency=concurrency, deadline=deadline)
    done = scenario.completed == clients
    scenario.extra.update(
        {
            "rooms_auto_joined": len(rooms),
            "concurrency_bound": concurrency,
            "deadline_s": deadline,
            "all_ready_s": round(scenario.elapsed, 3) if done else None,
            "hs_requests_per_client": round(sum(b.homeserver.requests for b in browsers[:clients]) / clients, 1),
            "hs_bytes_per_client": round(
                sum(b.homeserver.bytes_in + b.homeserver.bytes_out for b in browsers[:clients]) / clients
            ),
            "first_sync_bytes_p50": percentile([float(b) for b in sync_bytes], 50),
            "steps": summarise_timings(browsers[:clients], "seed."),
        }
    )
    return scenario


def ratio(opening: Scenario, seed: Scenario) -> dict[str, Any]:
    """Time until all clients are ready, ours against the seed flow. When a side hit its time
    limit, the comparison is the time until as many clients were ready as the slower side managed
    (both started together), and for a seed flow that did not finish that is a lower bound."""
    if seed.skipped or not seed.started_at or not opening.done_at or not seed.done_at:
        return {"ours_s": None, "baseline_s": None, "ratio": None, "text": "no ratio (a side had no client ready)"}
    ours_all = opening.extra.get("all_ready_s")
    base_all = seed.extra.get("all_ready_s")
    if ours_all is not None and base_all is not None:
        value = base_all / ours_all
        return {"ours_s": ours_all, "baseline_s": base_all, "ratio": round(value, 1), "text": f"{value:.1f}× sooner"}
    k = min(len(opening.done_at), len(seed.done_at))
    ours_k = sorted(opening.done_at)[k - 1]
    base_k = sorted(seed.done_at)[k - 1]
    value = base_k / ours_k if ours_k else 0.0
    return {
        "ours_s": round(ours_k, 2),
        "baseline_s": round(base_k, 2),
        "compared_clients": k,
        "ratio": round(value, 1),
        "text": f"{value:.1f}× sooner until {k} of {opening.planned} clients were ready "
        f"(ours: {len(opening.done_at)} ready within its limit, seed flow: {len(seed.done_at)})",
    }


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"
