"""python -m bench.live: the chat's two read paths side by side, same run, same machine.

- live: viewers hold one EventSource each on nginx + nchan (Redis-backed), authorised by the front end;
  the homeserver pushes each message once to the front end (application service), which publishes it.
- sync: viewers long-poll Synapse's /sync with chat.js's filter and pacing (bench.chat.client_shape).

For each number of viewers: all of them open at once (time to the first paint: the buffered message for
live, the first sync answer for sync), then one attendee sends messages at a fixed rate; delivery is
measured from the send to each receiver (p95 per message to the last receiver, and over all pairs), and
the homeserver's CPU (utime + stime from /proc) over the sending window, per message.

With --baseline, the seed systems' flow (bench.chat.baseline: register, auto-join every track room,
password login, unfiltered sync) then runs for as many people at once against the same homeserver, and
the time until all are ready is compared with the live and sync rounds of the same size.

Stack: LocalSynapse (SQLite) with the application service registered, lpcfe under gunicorn (SQLite),
redis-server and nginx with the deployment's site (bench.stack.LiveEdge), all on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from bench.chat import ClientShape, baseline, client_shape, ratio
from bench.report import Scenario, percentile
from bench.stack import REPO, FrontEnd, LiveEdge
from bench.web import Browser
from chat_embed.localsynapse import LocalSynapse, free_port
from lpcfe.deployment import APPSERVICE_BOT, LIVE_PATH, appservice_registration

MARK = "bench-live:"
SERVER_NAME = "bench.test"
CLOCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK


def children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def number_in(body: Any) -> int | None:
    if isinstance(body, str) and body.startswith(MARK):
        head = body[len(MARK) :].split(" ", 1)[0]
        return int(head) if head.isdigit() else None
    return None


@dataclass
class Viewer:
    ready: float | None = None  # seconds from the start of the open storm to the first paint
    received: dict[int, float] = field(default_factory=dict)
    errors: int = 0


# -- the two kinds of viewer ---------------------------------------------------------------------------
async def live_viewer(
    http: aiohttp.ClientSession, url: str, cookie: str, viewer: Viewer, t0: float, stop: asyncio.Event
) -> None:
    """One EventSource: read `data:` lines until stopped; resume with last_event_id after a cut."""
    last_id = ""
    while not stop.is_set():
        try:
            query = f"?last_event_id={quote(last_id)}" if last_id else ""
            headers = {"Accept": "text/event-stream", "Cookie": f"sessionid={cookie}"}
            async with http.get(url + query, headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as reply:
                if reply.status != 200:
                    raise aiohttp.ClientError(f"HTTP {reply.status}")
                async for raw in reply.content:
                    line = raw.decode().rstrip("\r\n")
                    if line.startswith("id:"):
                        last_id = line[3:].strip()
                    elif line.startswith("data:"):
                        now = time.monotonic()
                        if viewer.ready is None:
                            viewer.ready = now - t0
                        with contextlib.suppress(ValueError, AttributeError):
                            number = number_in(json.loads(line[5:]).get("content", {}).get("body"))
                            if number is not None:
                                viewer.received.setdefault(number, now)
                    if stop.is_set():
                        return
        except (TimeoutError, aiohttp.ClientError):
            viewer.errors += 1
            await asyncio.sleep(0.5 + random.random())


async def sync_viewer(
    http: aiohttp.ClientSession,
    hs: str,
    token: str,
    room_id: str,
    shape: ClientShape,
    members: int,
    viewer: Viewer,
    t0: float,
    stop: asyncio.Event,
) -> None:
    """chat.js's sync loop: a first sync (timeout 0), then long-polls paced by the room's size."""
    since = ""
    headers = {"Authorization": f"Bearer {token}"}
    while not stop.is_set():
        first = not since
        params = {
            "filter": shape.sync_filter(room_id, first=first),
            "timeout": "0" if first else str(shape.sync_timeout_ms),
            "set_presence": "offline",
        }
        if since:
            params["since"] = since
        try:
            async with http.get(
                hs + "/_matrix/client/v3/sync", params=params, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
            ) as reply:
                if reply.status != 200:
                    raise aiohttp.ClientError(f"HTTP {reply.status}")
                data = await reply.json()
        except (TimeoutError, aiohttp.ClientError):
            viewer.errors += 1
            await asyncio.sleep(1 + random.random())
            continue
        now = time.monotonic()
        if first:
            viewer.ready = now - t0
        events = (
            (((data.get("rooms") or {}).get("join") or {}).get(room_id) or {}).get("timeline", {}).get("events", [])
        )
        busy = False
        for event in events:
            number = number_in((event.get("content") or {}).get("body"))
            if number is not None:
                viewer.received.setdefault(number, now)
                busy = True
        since = data.get("next_batch", since)
        if busy and not first:
            await asyncio.sleep(shape.sync_pace(members))


# -- live viewers read by other processes --------------------------------------------------------------
# One asyncio process reading thousands of streams on a small machine lags by itself, and that lag
# would count as delivery time: with --reader-processes N the live viewers are spread over N processes,
# each running live_viewer over its share and reporting what its viewers saw as JSON lines. Times are
# time.monotonic() throughout: CLOCK_MONOTONIC is one clock for every process of the machine.
def changes(viewers: list[Viewer], told: list[list[int]]) -> list[list]:
    """What each viewer saw since the last call, as [index, ready, [[number, at], ...], errors] rows;
    told[i] is [receptions already told, errors already told, ready told (0/1)] and is updated."""
    rows = []
    for i, viewer in enumerate(viewers):
        seen, errors, ready_told = told[i]
        fresh = list(viewer.received.items())[seen:]
        ready = viewer.ready if viewer.ready is not None and not ready_told else None
        if fresh or ready is not None or viewer.errors != errors:
            rows.append([i, ready, fresh, viewer.errors])
            told[i] = [seen + len(fresh), viewer.errors, ready_told or int(ready is not None)]
    return rows


def apply(rows: list[list], viewers: list[Viewer]) -> None:
    for i, ready, fresh, errors in rows:
        viewer = viewers[i]
        if ready is not None:
            viewer.ready = ready
        for number, at in fresh:
            viewer.received.setdefault(number, at)
        viewer.errors = errors


def read_share() -> None:
    """A reader process: stdin gives the channel URL and session keys, then t0 when the round starts;
    stdout gets changes() every 50 ms; stdin closing stops it."""
    config = json.loads(sys.stdin.readline())
    viewers = [Viewer() for _ in config["keys"]]

    async def go() -> None:
        stop = asyncio.Event()
        told = [[0, 0, 0] for _ in viewers]
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            t0 = float(await asyncio.to_thread(sys.stdin.readline))
            tasks = [
                asyncio.create_task(live_viewer(http, config["url"], key, viewer, t0, stop))
                for key, viewer in zip(config["keys"], viewers, strict=True)
            ]
            closed = asyncio.create_task(asyncio.to_thread(sys.stdin.readline))
            while not closed.done():
                rows = changes(viewers, told)
                if rows:
                    sys.stdout.write(json.dumps(rows) + "\n")
                    sys.stdout.flush()
                await asyncio.sleep(0.05)
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(go())


async def spawn_reader(url: str, keys: list[str]) -> asyncio.subprocess.Process:
    """Started before the round so that its imports are not counted in the viewers' open times."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bench.live import read_share; read_share()",
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=2**24,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps({"url": url, "keys": keys}).encode() + b"\n")
    await process.stdin.drain()
    return process


async def reader(process: asyncio.subprocess.Process, viewers: list[Viewer], t0: float, stop: asyncio.Event) -> None:
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(f"{t0}\n".encode())
        await process.stdin.drain()
        async for line in process.stdout:
            apply(json.loads(line), viewers)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


# -- the stack ---------------------------------------------------------------------------------------
class Stack:
    def __init__(self, root: Path, front_workers: int) -> None:
        self.root = root
        self.hs_token, self.as_token = secrets.token_hex(24), secrets.token_hex(24)
        self.app_port = free_port()
        self.edge = LiveEdge(root / "edge", [f"127.0.0.1:{self.app_port}"])
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lpcfe.settings")
        registration = appservice_registration(
            self.edge.nginx.topology.internal_url,
            hs_token=self.hs_token,
            as_token=self.as_token,
            server_name=SERVER_NAME,
        )
        self.synapse = LocalSynapse(
            root / "synapse",
            server_name=SERVER_NAME,
            raise_rate_limits=True,
            # Synapse's default bcrypt cost: the seed flow (--baseline) pays it at registration and login.
            appservice=registration,
            # The settings docs/matrix.md recommends for a conference homeserver.
            extra_config={
                "push": {"enabled": False},
                "user_directory": {"enabled": False},
                "update_user_directory_from_worker": "nobody",
            },
        )
        self.front_workers = front_workers
        self.front: FrontEnd | None = None

    def start(self) -> None:
        self.synapse.start()
        self.edge.start()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lpcfe.settings",
            "SECRET_KEY": secrets.token_hex(32),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": self.edge.nginx.site_url,
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "LPCFE_DATA_DIR": str(self.root / "data"),
            "MATRIX_APPSERVICE_HS_TOKEN": self.hs_token,
            "MATRIX_APPSERVICE_AS_TOKEN": self.as_token,
            "MATRIX_APPSERVICE_BOT": APPSERVICE_BOT,
            "LIVE_SUBSCRIBE_PATH": LIVE_PATH,
            "LIVE_PUBLISH_URL": self.edge.nginx.publish_url,
            "LOG_LEVEL": "WARNING",
            **self.synapse.env(),
        }
        env.pop("DATABASE_URL", None)
        env.pop("CACHE_URL", None)
        (self.root / "front").mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        self.front = FrontEnd(self.root / "front", env, self.front_workers, 8, self.app_port, "lpcfe.wsgi")
        self.front.manage("migrate", "--no-input", quiet=True)
        self.front.manage("collectstatic", "--no-input", quiet=True)
        self.front.start()

    def shell(self, code: str) -> Any:
        assert self.front is not None
        return json.loads(self.front.manage("shell", "-c", code, quiet=True).strip().splitlines()[-1])

    def stop(self) -> None:
        for part in (self.front, self.edge, self.synapse):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()

    def pids(self) -> dict[str, list[int]]:
        nginx_pid = self.edge.nginx.process.pid if self.edge.nginx.process else 0
        front_pid = self.front.process.pid if self.front and self.front.process else 0
        return {
            "homeserver": [self.synapse._running_pid() or 0],
            "front_end": [front_pid, *children(front_pid)],
            "nginx": [nginx_pid, *children(nginx_pid)],
            "redis": [self.edge.redis.process.pid if self.edge.redis.process else 0],
        }


async def admin(http: aiohttp.ClientSession, hs: str, token: str, method: str, path: str, body: Any = None) -> dict:
    for _ in range(50):
        async with http.request(method, hs + path, json=body, headers={"Authorization": f"Bearer {token}"}) as reply:
            data = await reply.json()
            if reply.status == 429:
                await asyncio.sleep(data.get("retry_after_ms", 200) / 1000)
                continue
            if reply.status >= 300:
                raise RuntimeError(f"{method} {path}: HTTP {reply.status} {data}")
            return data
    raise RuntimeError(f"{method} {path}: rate-limited")


async def make_people(http, hs: str, token: str, room_id: str, count: int, prefix: str) -> list[str]:
    """`count` accounts in the room with their tokens (admin API, a few at a time)."""
    gate = asyncio.Semaphore(8)

    async def one(n: int) -> str:
        async with gate:
            uid = f"@{prefix}{n}:{SERVER_NAME}"
            await admin(http, hs, token, "PUT", f"/_synapse/admin/v2/users/{quote(uid)}", {"displayname": f"V {n}"})
            await admin(http, hs, token, "POST", f"/_synapse/admin/v1/join/{quote(room_id)}", {"user_id": uid})
            return (await admin(http, hs, token, "POST", f"/_synapse/admin/v1/users/{quote(uid)}/login", {}))[
                "access_token"
            ]

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def warm_up(http: aiohttp.ClientSession, stack: Stack, channel: str, keys: list[str]) -> None:
    """Every front-end thread answers a few authorisations first: in a conference the workers have
    served the pages before anyone opens the chat, so the rounds measure warm workers (their first
    requests load the views and open a database connection per thread)."""
    assert stack.front is not None
    url = stack.front.url + "/chat/live/authorize/"
    headers = {"X-Channel-Id": channel, "X-Original-URI": LIVE_PATH + channel, "Cookie": f"sessionid={keys[0]}"}

    async def one() -> None:
        async with http.get(url, headers=headers) as reply:
            if reply.status != 204:
                raise RuntimeError(f"warm-up authorisation: HTTP {reply.status}")

    for _ in range(3):
        await asyncio.gather(*(one() for _ in range(stack.front.workers * stack.front.threads * 2)))


# -- one measured round ---------------------------------------------------------------------------------
async def measure(
    path: str,
    viewers: list[Viewer],
    starters,
    send,
    stack: Stack,
    numbers: range,
    rate: float,
    grace: float,
) -> dict[str, Any]:
    """Open every viewer at once (each starter, called with t0 and stop, reads for one viewer or for
    a reader process's share), then send `numbers` (unique across rounds: a live channel replays
    earlier rounds' messages to a new viewer) at `rate`, and measure."""
    messages = len(numbers)
    stop = asyncio.Event()
    pids = stack.pids()
    open_before = {name: cpu_seconds(p) for name, p in pids.items()}
    t0 = time.monotonic()
    tasks = [asyncio.create_task(start(t0, stop)) for start in starters]
    deadline = t0 + 60
    while time.monotonic() < deadline and any(v.ready is None for v in viewers):
        await asyncio.sleep(0.05)
    ready = [v.ready for v in viewers if v.ready is not None]
    all_ready = max(ready) if len(ready) == len(viewers) else None
    open_cpu = {name: cpu_seconds(p) - open_before[name] for name, p in pids.items()}
    await asyncio.sleep(1.0)
    cpu_before = {name: cpu_seconds(p) for name, p in pids.items()}
    sent: dict[int, float] = {}
    start = time.monotonic()
    for i, n in enumerate(numbers):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        sent[n] = time.monotonic()
        await send(n)

    def missing(v: Viewer) -> bool:
        return any(n not in v.received for n in numbers)

    end_by = time.monotonic() + grace
    while time.monotonic() < end_by and any(missing(v) for v in viewers):
        await asyncio.sleep(0.1)
    window = time.monotonic() - start
    cpu = {name: cpu_seconds(p) - cpu_before[name] for name, p in pids.items()}
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    to_last, pairs, lost = [], [], 0
    for n, at in sent.items():
        times = [v.received[n] - at for v in viewers if n in v.received]
        lost += len(viewers) - len(times)
        pairs.extend(times)
        if len(times) == len(viewers):
            to_last.append(max(times))
    return {
        "path": path,
        "viewers": len(viewers),
        "open_ready_s": sorted(_r(t) for t in ready),
        "open_ready_p95_s": _r(percentile(ready, 95)),
        "open_all_ready_s": _r(all_ready),
        "open_not_ready": len(viewers) - len(ready),
        "open_cpu_ms_per_viewer": {k: _r(v * 1000 / len(viewers)) for k, v in open_cpu.items()},
        "delivery_to_last_p95_s": _r(percentile(to_last, 95)) if to_last else None,
        "delivery_pairs_p95_s": _r(percentile(pairs, 95)) if pairs else None,
        "messages": messages,
        "lost": lost,
        "viewer_errors": sum(v.errors for v in viewers),
        "window_s": _r(window),
        "cpu_s": {k: _r(v) for k, v in cpu.items()},
        "homeserver_cpu_ms_per_message": _r(cpu["homeserver"] * 1000 / messages),
        "load_average_at_end": [_r(load) for load in os.getloadavg()],
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


async def run(args: argparse.Namespace, stack: Stack) -> list[dict[str, Any]]:
    hs = stack.synapse.url
    admin_token = stack.synapse.admin_token
    shape = client_shape()
    results = []
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as http:
        room = await admin(
            http, hs, admin_token, "POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat", "name": "Keynote"}
        )
        room_id = room["room_id"]
        async with http.post(
            hs + "/_matrix/client/v3/register",
            json={"type": "m.login.application_service", "username": APPSERVICE_BOT, "inhibit_login": True},
            headers={"Authorization": f"Bearer {stack.as_token}"},
        ) as reply:
            assert reply.status in (200, 400), await reply.text()
        await admin(
            http,
            hs,
            admin_token,
            "POST",
            f"/_synapse/admin/v1/join/{quote(room_id)}",
            {"user_id": f"@{APPSERVICE_BOT}:{SERVER_NAME}"},
        )
        most_live = max(args.viewers or [0])
        setup = stack.shell(
            "import json\n"
            "from django.contrib.sessions.backends.db import SessionStore\n"
            "from sessions.models import Room\nfrom sessions import guests\n"
            "from sessions.people import GUEST_SESSION_KEY\nfrom chat_embed.models import MatrixRoom\n"
            "guests.set_mode(True, changed_by='bench')\n"
            "r = Room.objects.create(slug='keynote', name='Keynote', kind=Room.Kind.PUBLIC)\n"
            f"m = MatrixRoom.objects.create(key='room:keynote', alias_localpart='keynote', room_id={room_id!r},"
            " name='Keynote', public=True, schedule_room=r)\n"
            "keys = []\n"
            f"for i in range({most_live}):\n"
            "    s = SessionStore(); s[GUEST_SESSION_KEY] = f'Guest {i}'; s.create(); keys.append(s.session_key)\n"
            "print(json.dumps({'channel': f'room{m.pk}', 'keys': keys}))\n"
        )
        sender_token = (await make_people(http, hs, admin_token, room_id, 1, "sender"))[0]
        counter = iter(range(10**9))

        async def send(n: int) -> None:
            body = {"msgtype": "m.text", "body": f"{MARK}{n} at {time.time():.3f}"}
            url = f"{hs}/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/b{next(counter)}"
            async with http.put(url, json=body, headers={"Authorization": f"Bearer {sender_token}"}) as reply:
                if reply.status != 200:
                    raise RuntimeError(f"send: HTTP {reply.status}")

        # The channel's buffer holds one message before anyone opens: the first paint.
        async with http.put(
            f"{hs}/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/first",
            json={"msgtype": "m.text", "body": "welcome"},
            headers={"Authorization": f"Bearer {sender_token}"},
        ) as reply:
            assert reply.status == 200
        await asyncio.sleep(2)
        url = stack.edge.nginx.site_url + LIVE_PATH + setup["channel"]
        sync_tokens: list[str] = []
        if args.sync_viewers:
            sync_tokens = await make_people(http, hs, admin_token, room_id, max(args.sync_viewers), "viewer")
        members = 2 + len(sync_tokens)
        await warm_up(http, stack, setup["channel"], setup["keys"][:1])
        await asyncio.sleep(10)  # let the homeserver finish the joins' background work
        base = 0
        rounds = [("live", n) for n in sorted(args.viewers)] + [("sync", n) for n in sorted(args.sync_viewers)]
        for path, count in rounds:
            viewers = [Viewer() for _ in range(count)]
            keys = setup["keys"][:count]
            if path == "live" and args.reader_processes > 1:
                shares = [range(i, count, args.reader_processes) for i in range(args.reader_processes)]
                processes = [await spawn_reader(url, [keys[i] for i in share]) for share in shares]
                await asyncio.sleep(2)  # their imports done
                starters = [
                    partial(reader, process, [viewers[i] for i in share])
                    for process, share in zip(processes, shares, strict=True)
                ]
            elif path == "live":
                starters = [
                    partial(live_viewer, http, url, key, viewer) for key, viewer in zip(keys, viewers, strict=True)
                ]
            else:
                starters = [
                    partial(sync_viewer, http, hs, tok, room_id, shape, members, viewer)
                    for tok, viewer in zip(sync_tokens[:count], viewers, strict=True)
                ]
            batch = range(base, base + args.messages)
            base += args.messages
            result = await measure(path, viewers, starters, send, stack, batch, args.rate, args.grace)
            print(json.dumps({k: v for k, v in result.items() if k != "open_ready_s"}), flush=True)
            results.append(result)
            await asyncio.sleep(5)  # abandoned long-polls end before the next round
        if args.baseline:
            results.append(await seed_round(args, stack, http, room_id, results))
    return results


async def seed_round(
    args: argparse.Namespace, stack: Stack, http: aiohttp.ClientSession, room_id: str, rounds: list[dict[str, Any]]
) -> dict[str, Any]:
    """The seed flow for --baseline people at once; its time until all are ready against each path's
    round of the same size (bench.chat.ratio, as `python -m bench` compares 3c with it)."""
    hs, token = stack.synapse.url, stack.synapse.admin_token
    rooms = [room_id]
    for n in range(2, args.baseline_rooms + 1):
        body = {"preset": "public_chat", "name": f"Track {n}"}
        rooms.append((await admin(http, hs, token, "POST", "/_matrix/client/v3/createRoom", body))["room_id"])
    browsers = [Browser(http, stack.edge.nginx.site_url) for _ in range(args.baseline)]
    before = cpu_seconds(stack.pids()["homeserver"])
    seed = await baseline(
        browsers,
        hs,
        stack.synapse.registration_shared_secret,
        token,
        rooms,
        clients=args.baseline,
        concurrency=args.baseline_concurrency,
        deadline=args.baseline_deadline,
    )
    ready = list(seed.latencies)
    result: dict[str, Any] = {
        "path": "seed flow",
        "viewers": args.baseline,
        "rooms_auto_joined": len(rooms),
        "concurrency_bound": args.baseline_concurrency,
        "open_ready_p95_s": _r(percentile(ready, 95)) if ready else None,
        "open_all_ready_s": seed.extra["all_ready_s"],
        "open_not_ready": args.baseline - seed.completed,
        "errors": dict(seed.errors),
        "homeserver_cpu_s": _r(cpu_seconds(stack.pids()["homeserver"]) - before),
        "steps": seed.extra["steps"],
        "ratios": {},
    }
    for ours in rounds:
        if ours["viewers"] != args.baseline:
            continue
        opening = Scenario(ours["path"], ours["path"], planned=ours["viewers"], done_at=ours["open_ready_s"])
        opening.extra["all_ready_s"] = ours["open_all_ready_s"]
        result["ratios"][ours["path"]] = ratio(opening, seed)
        print(f"{ours['path']} vs seed flow, {args.baseline} at once: {result['ratios'][ours['path']]['text']}")
    print(json.dumps({k: v for k, v in result.items() if k != "steps"}), flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.split("\n\n")[0])
    ints = lambda text: [int(x) for x in text.split(",") if x]  # noqa: E731
    parser.add_argument("--viewers", type=ints, default=[100, 500, 2000], help="live viewers per round")
    parser.add_argument("--sync-viewers", type=ints, default=[100, 500], help="sync viewers per round (empty: none)")
    parser.add_argument(
        "--reader-processes",
        type=int,
        default=1,
        metavar="N",
        help="processes reading the live viewers' streams (one asyncio process lags behind thousands)",
    )
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2.0, help="messages per second")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds to wait for late deliveries")
    # The deployment's gunicorn.conf.py (lpcfe.deployment): 2 x cores + 1 workers.
    parser.add_argument("--front-workers", type=int, default=2 * (os.cpu_count() or 2) + 1)
    parser.add_argument(
        "--baseline",
        type=int,
        default=0,
        metavar="N",
        help="then run the seed flow for N people at once and compare with the rounds of N viewers",
    )
    parser.add_argument("--baseline-rooms", type=int, default=4, help="track rooms the seed flow auto-joins")
    parser.add_argument("--baseline-concurrency", type=int, default=50, help="seed flows in progress at once")
    parser.add_argument("--baseline-deadline", type=float, default=900.0, help="seconds")
    parser.add_argument("--out", type=Path, help="JSON file for the results")
    args = parser.parse_args(argv)
    if args.baseline and args.baseline not in args.viewers + args.sync_viewers:
        parser.error(f"--baseline {args.baseline}: add a round of that size to --viewers or --sync-viewers")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory(prefix="lpcfe-live-bench-") as tmp:
        stack = Stack(Path(tmp), args.front_workers)
        try:
            stack.start()
            results = asyncio.run(run(args, stack))
        finally:
            stack.stop()
    report = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "args": vars(args) | {"out": None}}
    report["results"] = results
    if args.out:
        args.out.write_text(json.dumps(report, indent=2, default=str))
    print(format_table(results))
    return 0


def format_table(results: list[dict[str, Any]]) -> str:
    head = (
        "| path | viewers | open p95 / all ready (s) | delivery to last p95 (s) | all pairs p95 (s) | lost "
        "| homeserver CPU/msg (ms) |"
    )
    lines = [head, "|---|---|---|---|---|---|---|"]
    ratios = []
    for r in results:
        lines.append(
            f"| {r['path']} | {r['viewers']} | {r['open_ready_p95_s']} / {r['open_all_ready_s']} | "
            f"{r.get('delivery_to_last_p95_s', '-')} | {r.get('delivery_pairs_p95_s', '-')} | {r.get('lost', '-')} | "
            f"{r.get('homeserver_cpu_ms_per_message', '-')} |"
        )
        for path, found in r.get("ratios", {}).items():
            ratios.append(
                f"{path}, {r['viewers']} at once, vs seed flow: ours {found['ours_s']} s, "
                f"seed flow {found['baseline_s']} s: {found['text']}"
            )
    return "\n".join(lines + ratios)


if __name__ == "__main__":
    sys.exit(main())
