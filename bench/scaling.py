"""`python -m bench.scaling`: what more sync workers would give on a machine with a core for each.

On a 2-core machine N workers cannot add cores, so each Synapse sync worker runs under the same fixed
CPU quota (bench/quota.py; 25 % of a core by default) and the question becomes: does the topology
answer N times the syncs with N capped workers? For N = 1, 2, 3, 4 the sweep starts the workers
topology (nginx, Redis, main process, event persister, N sync workers; PostgreSQL uncapped), lets
--clients attendees open one room's chat through nginx (their syncs spread over the workers by the
sticky user hash), caps the processes, and has random clients send --rate messages/s for --seconds
while everyone long-polls. Measured per N from Synapse's own access log (one line per request with
its ru_utime/ru_stime) and the groups' cpu.stat: syncs answered per second in all and per worker,
CPU per sync, how often the quota bit. Then a Universal Scalability Law curve is fitted to the
totals and a capacity estimate is derived from it (docs/benchmarks.md, "Scaling under a CPU quota").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import os
import random
import shutil
import signal
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.chat import client_shape
from bench.report import machine_facts, write_json

logger = logging.getLogger("bench")


# -- the curve --------------------------------------------------------------------------------------
def fit_usl(points: dict[int, float]) -> dict[str, float]:
    """Fit X(N) = λN / (1 + σ(N−1) + κN(N−1)) to throughputs by worker count.

    λ is the one-worker throughput (X(1) measured, as Gunther's method takes it); with C = X(N)/λ,
    N/C − 1 = σ(N−1) + κN(N−1) is linear in σ (contention) and κ (coherency, the cost of keeping
    workers in step), so a least-squares fit over the points is a 2×2 solve. Negative σ or κ (the
    data scale better than linearly, i.e. noise) are clamped at 0 and the other refitted."""
    if 1 not in points or len(points) < 3:
        raise ValueError("the fit needs X(1) and at least two more worker counts")
    lam = points[1]
    rows = [(n - 1, n * (n - 1), n * lam / x - 1) for n, x in points.items() if n > 1]

    def alone(col: int) -> float:
        den = sum(r[col] ** 2 for r in rows)
        return max(0.0, sum(r[col] * r[2] for r in rows) / den)

    saa = sum(a * a for a, _, _ in rows)
    sbb = sum(b * b for _, b, _ in rows)
    sab = sum(a * b for a, b, _ in rows)
    say = sum(a * y for a, _, y in rows)
    sby = sum(b * y for _, b, y in rows)
    det = saa * sbb - sab * sab
    sigma, kappa = (sbb * say - sab * sby) / det, (saa * sby - sab * say) / det
    if sigma < 0 or kappa < 0:
        sigma, kappa = (0.0, alone(1)) if sigma < 0 else (alone(0), 0.0)
    fitted = {n: usl(n, lam, sigma, kappa) for n in points}
    worst = max(abs(fitted[n] - x) / x for n, x in points.items())
    peak = math.sqrt((1 - sigma) / kappa) if kappa > 0 and sigma < 1 else math.inf
    return {"lambda": lam, "sigma": sigma, "kappa": kappa, "worst_error": worst, "peak_workers": peak}


def usl(n: float, lam: float, sigma: float, kappa: float) -> float:
    return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


def workers_for(demand: float, fit: dict[str, float], limit: int = 256) -> int | None:
    """The fewest workers whose fitted throughput reaches `demand` syncs/s; None if the curve never does."""
    for n in range(1, limit + 1):
        if usl(n, fit["lambda"], fit["sigma"], fit["kappa"]) >= demand:
            return n
    return None


def normalised(points: list[dict[str, Any]]) -> dict[int, float]:
    """Syncs/s as if every sync had cost what one did at the largest worker count.

    Saturated, fewer workers answer fewer, bigger syncs (a client waits longer, so more messages
    arrive per response): a sync at 1 worker is more work than one at 4, which makes raw syncs/s
    scale better than linearly. Scaling each point by its workers' CPU per sync (all their cgroups'
    CPU over the syncs answered) compares equal work."""
    ref = max(points, key=lambda p: p["workers"])["worker_cpu_ms_per_sync"]
    return {p["workers"]: round(p["syncs_per_s"] * p["worker_cpu_ms_per_sync"] / ref, 2) for p in points}


# -- capacity: cores for a conference, from the fitted curve ----------------------------------------------
IDLE_POLL_S = 30.0  # chat.js's long-poll timeout: an attendee in a quiet room syncs once in 30 s
P95_PAUSE_S = 2.5  # the longest pause after a busy sync that still lets a message show within 3 s
UTILISATION = 0.7  # sync workers planned at most 70 % busy, so that queues stay short (p95 < 3 s)
CASES = ((1000, 500, 2.0), (5000, 2000, 2.0))  # attendees, of whom in one room, messages/s there


def sync_interval(room: int, rate: float, pause_max_s: float = P95_PAUSE_S) -> float:
    """Seconds between one member's syncs while a room of `room` talks at `rate` messages/s: the
    client's pause after a busy sync (chat.js: 10 ms per member, at least 0.4 s), capped at
    `pause_max_s`, or the gap between messages when that is longer."""
    shape = client_shape()
    pause = min(pause_max_s, shape.sync_pace_max_ms / 1000, max(shape.sync_pace_ms, room * 10) / 1000)
    return max(pause, 1 / rate)


def capacity(results: dict[str, Any], cases=CASES) -> list[dict[str, Any]]:
    """Sync workers (one core each) and cores in all for each case, from the sweep's fit and, as
    the optimistic bound, from λ alone (perfectly linear; the fitted σ and κ are small enough that
    the 2-core machine's own contention could explain them).

    Demand: each member of the busy room syncs once per sync_interval() (a message wakes every
    member's long-poll; the client's pause after a busy sync, no longer than P95_PAUSE_S so that
    p95 < 3 s stays possible, coalesces the rest), everyone elsewhere once per IDLE_POLL_S.
    Supply: λ is the one-worker throughput measured, scaled from the quota to a whole core
    (λ·100/quota; its syncs were the heaviest of the sweep, see normalised()), and σ, κ come from the
    work-normalised fit: the contention and coherency seen at 1..4 capped workers are assumed to
    hold for more workers at a core each. Besides the sync workers: one core for the main process and
    the event persister (the sweep's main+persister group used a tenth of that at 4 messages/s), and
    PostgreSQL and nginx at the CPU per sync the sweep measured for them (PostgreSQL's figure is the
    whole shared cluster's, so an upper bound)."""
    fit = results["fit"]
    quota = results["options"]["quota"]
    raw_one = next(p["syncs_per_s"] for p in results["points"] if p["workers"] == 1)
    per_core = dict(fit, **{"lambda": raw_one * 100 / quota})
    top = max(results["points"], key=lambda p: p["workers"])
    cpu = top["cpu_seconds"]
    side_per_sync = (cpu.get("postgresql (all clients)", 0.0) + cpu.get("nginx", 0.0)) / max(1, top["syncs"])
    rows = []
    for attendees, room, rate in cases:
        demand = room / sync_interval(room, rate) + (attendees - room) / IDLE_POLL_S
        workers = workers_for(demand / UTILISATION, per_core)
        linear = math.ceil(demand / UTILISATION / per_core["lambda"])
        row: dict[str, Any] = {
            "attendees": attendees,
            "in_one_room": room,
            "messages_per_s": rate,
            "sync_interval_s": sync_interval(room, rate),
            "syncs_per_s": round(demand),
            "syncs_per_s_per_core": round(per_core["lambda"], 1),
            "sync_workers": workers,
            "sync_workers_if_linear": linear,
        }
        side = demand * side_per_sync
        row["postgresql_and_nginx_cores"] = round(side, 1)
        row["cores_if_linear"] = math.ceil(linear + 1 + side)
        if workers is not None:
            row["cores"] = math.ceil(workers + 1 + side)
        rows.append(row)
    return rows


# -- one measured point -------------------------------------------------------------------------------
def _log_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _log_since(path: Path, offset: int) -> str:
    if not path.exists():
        return ""
    with path.open("rb") as stream:
        stream.seek(offset)
        return stream.read().decode("utf-8", errors="replace")


async def _point(args: argparse.Namespace, workers: int, root: Path) -> dict[str, Any]:
    from bench.chat import ChatClient, client_shape, deliver
    from bench.data import MAIN_ROOM, make_attendees, write_attendees, write_schedule
    from bench.profiling import sync_costs
    from bench.quota import CpuController
    from bench.report import Scenario
    from bench.run import CpuMeter, settle
    from bench.scenarios import Urls, login, run_flows, spread
    from bench.stack import Stack
    from bench.web import Browser, new_session
    from lpcfe.deployment import PERSISTER

    point: dict[str, Any] = {"workers": workers, "load_average_before": os.getloadavg()}
    with contextlib.ExitStack() as cleanup:
        stack = Stack(root, workers=2, threads=8, bcrypt_rounds=4, keep=False, synapse_workers=workers)
        await asyncio.to_thread(stack.start, cleanup)
        point["versions"] = stack.versions
        front = stack.front
        attendees = make_attendees(args.clients)
        front.manage("import_attendees", str(write_attendees(root / "attendees.tsv", attendees)), "--no-progress")
        (root / "schedule").mkdir()
        front.manage("import_schedule", str(write_schedule(root / "schedule", 1)))
        urls = Urls(**await asyncio.to_thread(front.probe, "urls", MAIN_ROOM))
        http = new_session(limit=args.clients + 50)
        try:
            browsers = [Browser(http, front.public_url) for _ in attendees]
            logins = Scenario("logins", "logins")
            await run_flows(
                logins,
                [0.0] * len(browsers),
                lambda i: login(browsers[i], urls, attendees[i]),
                concurrency=20,
                deadline=300,
            )
            if logins.completed < len(browsers):
                raise RuntimeError(f"only {logins.completed} of {len(browsers)} attendees logged in: {logins.errors}")
            await asyncio.to_thread(front.manage, "provision_matrix", "--no-progress", "--workers", "8")
            await asyncio.to_thread(settle, stack)
            shape = client_shape()
            if not args.paced:
                # A closed loop: each client syncs again as soon as a sync brings events, so the
                # workers, not the clients' pauses, set the rate (see --paced).
                shape = dataclasses.replace(shape, sync_pace_ms=0, sync_pace_per_member_ms=0, sync_pace_max_ms=0)
            point["paced"] = args.paced
            clients = [ChatClient(b, shape) for b in browsers]
            opening = Scenario("chat_open", "chat open")
            await run_flows(
                opening, spread(len(clients), 10.0), lambda i: clients[i].open(urls), concurrency=20, deadline=300
            )
            ready = [c for c in clients if c.since]
            if len(ready) < len(clients):
                raise RuntimeError(f"only {len(ready)} of {len(clients)} chat clients became ready: {opening.errors}")

            synapse = stack.synapse
            names = synapse.topology.worker_names
            pids = synapse.worker_pids()
            quotas = cleanup.enter_context(CpuController.find())
            groups = {}
            for name in names:
                groups[name] = quotas.group(name, args.quota)
                groups[name].add(pids[name])
            if args.main_quota:
                groups["main+persister"] = quotas.group("main", args.main_quota)
                groups["main+persister"].add(synapse._running_pid())
                groups["main+persister"].add(pids[PERSISTER])
            point["capped"] = {name: g.percent for name, g in groups.items()}
            point["quota_mechanism"] = f"cgroups v{quotas.version} cpu controller"
            logs = {name: synapse.worker_log(name) for name in names}
            offsets = {name: _log_size(path) for name, path in logs.items()}
            meter = CpuMeter(stack)
            cpu_before, use_before = meter.snapshot(), {n: g.usage() for n, g in groups.items()}
            started = time.monotonic()
            delivery = Scenario("chat_delivery", "chat delivery")
            await deliver(
                delivery, ready, rate=args.rate, seconds=args.seconds, grace=args.grace, rng=random.Random(args.seed)
            )
            elapsed = time.monotonic() - started
            cpu = meter.delta(cpu_before, meter.snapshot())
            use = {n: (g.usage() - use_before[n]).as_json(elapsed) for n, g in groups.items()}
        finally:
            await http.close()
        per_worker = {name: sync_costs(_log_since(path, offsets[name])) for name, path in logs.items()}
        total = sum(w["syncs"] for w in per_worker.values())
        counted = [w for w in per_worker.values() if w["syncs"]]
        cpu_ms = [w["cpu_ms_per_sync"] for w in counted]
        worker_cpu = sum(use[n]["cpu_s"] for n in names)
        point.update(
            {
                "seconds": round(elapsed, 1),
                "syncs": total,
                "syncs_per_s": round(total / elapsed, 1),
                "syncs_per_s_per_worker": round(total / elapsed / workers, 1),
                # Synapse's own ru_utime + ru_stime per /sync response, averaged over the workers ...
                "cpu_ms_per_sync": round(sum(cpu_ms) / len(cpu_ms), 2) if cpu_ms else None,
                # ... and all the CPU the workers' groups used, per sync: replication, caches, GC too.
                "worker_cpu_ms_per_sync": round(1000 * worker_cpu / total, 2) if total else None,
                "bytes_per_sync": round(sum(w["bytes_per_sync"] * w["syncs"] for w in counted) / total)
                if total
                else None,
                "by_worker": {
                    n: {**w, "syncs_per_s": round(w["syncs"] / elapsed, 1), "cgroup": use[n]}
                    for n, w in per_worker.items()
                },
                "main_and_persister": use.get("main+persister"),
                "cpu_seconds": cpu,
                "delivery": {
                    "messages": delivery.extra.get("messages_sent"),
                    "p95_s": delivery.extra.get("per_receiver_p95_s"),
                    "p95_last_receiver_s": round(delivery.pct(95), 3) if delivery.latencies else None,
                    "deliveries_missing": delivery.extra.get("deliveries_missing"),
                    "errors": dict(delivery.errors),
                },
                "load_average_after": os.getloadavg(),
            }
        )
    return point


# -- the sweep ----------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,3,4", help="sync worker counts to measure (default 1,2,3,4)")
    parser.add_argument("--quota", type=float, default=25.0, help="CPU %% of one core per sync worker (default 25)")
    parser.add_argument(
        "--main-quota",
        type=float,
        default=50.0,
        help="CPU %% of one core for the main process and the event persister together, 0: uncapped (default 50)",
    )
    parser.add_argument("--clients", type=int, default=60, help="chat clients long-polling one room (default 60)")
    parser.add_argument("--rate", type=float, default=4.0, help="messages per second sent (default 4)")
    parser.add_argument("--seconds", type=float, default=40.0, help="seconds of sending (default 40)")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds after the last send (default 10)")
    parser.add_argument(
        "--paced",
        action="store_true",
        help="clients pause after a busy sync as chat.js does (10 ms per member); by default they do not, so "
        "that the capped workers are saturated (a room of paced clients asks for at most ~100 syncs/s)",
    )
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--out", type=Path, default=Path("bench/results/scaling.json"))
    parser.add_argument(
        "--refit", action="store_true", help="measure nothing: fit the curve and the capacity again from --out's points"
    )
    args = parser.parse_args(argv)
    args.counts = sorted({int(n) for n in args.workers.split(",")})
    if args.counts[0] < 1:
        parser.error("--workers: counts start at 1")
    return args


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    from bench.quota import unavailable

    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the stack and remove the groups on kill too
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    os.chdir(Path(__file__).resolve().parent.parent)
    if args.refit:
        return _conclude(json.loads(args.out.read_text()), args.out)
    if why := unavailable():
        logger.error("Cannot cap CPU here: %s", why)
        return 2
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {k: v for k, v in vars(args).items() if k not in ("out", "counts")},
        "machine": machine_facts(),
        "points": [],
    }
    for n in args.counts:
        root = Path(tempfile.mkdtemp(prefix=f"lpcfe-scaling-{n}-"))
        logger.info("%d sync worker(s), %.0f %% of a core each…", n, args.quota)
        try:
            point = asyncio.run(_point(args, n, root))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        results["points"].append(point)
        logger.info(
            "  %d worker(s): %.1f syncs/s (%.1f per worker), %.2f ms CPU per sync, delivery p95 %s s",
            n,
            point["syncs_per_s"],
            point["syncs_per_s_per_worker"],
            point["cpu_ms_per_sync"] or 0,
            point["delivery"]["p95_last_receiver_s"],
        )
        write_json(args.out, results)
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    return _conclude(results, args.out)


def _conclude(results: dict[str, Any], out: Path) -> int:
    """The fitted curve and the capacity table from the measured points, into the results."""
    totals = {p["workers"]: p["syncs_per_s"] for p in results["points"]}
    if 1 in totals and len(totals) >= 3:
        results["fit_raw"] = fit_usl(totals)
        results["speedup_1_to_max"] = round(totals[max(totals)] / totals[1], 2)
        results["work_normalised"] = normalised(results["points"])
        results["fit"] = fit_usl(results["work_normalised"])
        results["speedup_1_to_max_normalised"] = round(
            results["work_normalised"][max(totals)] / results["work_normalised"][1], 2
        )
        results["capacity"] = capacity(results)
        logger.info("Fit: %s; speedup %s", results["fit"], results["speedup_1_to_max"])
        for row in results["capacity"]:
            logger.info("Capacity: %s", row)
    write_json(out, results)
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
