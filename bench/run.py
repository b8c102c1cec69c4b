"""`python -m bench`: start the stack, load the conference, run the scenarios, report, stop everything."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import resource
import shutil
import signal
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cli import Options, logins_needed, parse_args, plan
from bench.data import MAIN_ROOM, make_attendees, write_attendees, write_schedule
from bench.report import Scenario, format_comparison, format_machine, format_table, machine_facts, write_json

logger = logging.getLogger("bench")


# -- CPU accounting: which process spent the machine's time -------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    # utime, stime, cutime, cstime: children (gunicorn workers, slapd threads) count for their parent.
    return sum(int(f) for f in fields[11:15]) / ticks


def _tree_cpu_seconds(pid: int) -> float:
    """A process and its running children (nginx's workers are not reaped until they exit)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        kids = [int(p) for p in children.read_text().split()]
    return _cpu_seconds(pid) + sum(_cpu_seconds(k) for k in kids)


def _pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
    return pids


class CpuMeter:
    """CPU seconds used by each part of the stack between two snapshots."""

    def __init__(self, stack) -> None:
        self.stack = stack

    def snapshot(self) -> dict[str, float]:
        out: dict[str, float] = {}
        fronts = [f for f in self.stack.fronts if f.process]
        if fronts:
            out["front end (gunicorn)"] = sum(
                _cpu_seconds(f.process.pid) + sum(_cpu_seconds(p) for p in f.worker_pids()) for f in fronts
            )
        bbb = self.stack.bbb
        if bbb and bbb.process:
            out["BBB double"] = _cpu_seconds(bbb.process.pid) + sum(_cpu_seconds(p) for p in bbb.worker_pids())
        synapse_pid = self.stack.synapse._running_pid() if self.stack.synapse else None
        if synapse_pid:
            out["synapse"] = _cpu_seconds(synapse_pid)
        if self.stack.synapse is not None:
            for name, pid in self.stack.synapse.worker_pids().items():
                out[f"synapse {name}"] = _cpu_seconds(pid)
        for part in (self.stack.nginx, self.stack.redis):
            if part is not None and part.process is not None:
                out[type(part).__name__.lower()] = _tree_cpu_seconds(part.process.pid)
        out["postgresql (all clients)"] = sum(_cpu_seconds(p) for p in _pids_named("postgres"))
        slapd_pid = self.stack.slapd.pid() if self.stack.slapd else None
        if slapd_pid:
            out["slapd"] = _cpu_seconds(slapd_pid)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out["load generator"] = usage.ru_utime + usage.ru_stime
        return out

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {k: round(after.get(k, 0.0) - v, 1) for k, v in before.items()}


def settle(stack, quiet: float = 0.05, window: float = 10.0, limit: float = 600.0) -> float:
    """Wait until Synapse has finished the work provisioning left behind (room stats, the user
    directory: minutes after thousands of joins), as it would have long before a keynote.
    Quiet = under `quiet` of a core over `window` seconds. Returns the seconds waited."""
    pid = stack.synapse._running_pid() if stack.synapse else None
    started = time.monotonic()
    if not pid:
        return 0.0
    logger.info("Waiting for Synapse to finish its background work after provisioning…")
    while time.monotonic() - started < limit:
        before = _cpu_seconds(pid)
        time.sleep(window)
        if (_cpu_seconds(pid) - before) / window < quiet:
            break
    waited = round(time.monotonic() - started, 1)
    logger.info("  Synapse quiet after %.0f s", waited)
    return waited


# -- the run ----------------------------------------------------------------------------------------------------
def _skip(name: str, title: str, why: str) -> Scenario:
    scenario = Scenario(name, title)
    scenario.skipped = why
    return scenario


class StepFailed(RuntimeError):
    """A step of the run raised: the message names the step, so a failed run says where it stopped."""

    def __init__(self, step: str, cause: BaseException) -> None:
        self.step = step
        super().__init__(f"{step}: {cause}")


@contextlib.contextmanager
def step(results: dict[str, Any], name: str):
    """Run one step of the run under its name: an error inside becomes StepFailed(name)."""
    results["step"] = name
    try:
        yield
    except StepFailed:
        raise
    except Exception as exc:
        raise StepFailed(name, exc) from exc


async def drive(
    options: Options, stack, attendees, results: dict[str, Any], profiler, scenarios: list[Scenario]
) -> None:
    """Run the chosen scenarios, appending each to `scenarios` as it finishes (a later failure keeps them)."""
    from bench.chat import baseline, chat_storm, open_at_once, ratio
    from bench.scenarios import Urls, login, login_herd, run_flows
    from bench.web import Browser, new_session

    front = stack.front
    with step(results, "find the front end's URLs"):
        urls = Urls(**await asyncio.to_thread(front.probe, "urls", MAIN_ROOM))
    results["urls"] = {k: v for k, v in urls.__dict__.items()}
    meter = CpuMeter(stack)
    cpu: dict[str, dict[str, float]] = results.setdefault("cpu_seconds", {})
    want = set(options.scenarios)
    http = new_session(limit=max(options.concurrency, options.chat_clients) + 200)
    try:
        browsers = [Browser(http, front.public_url) for _ in attendees]
        if not urls.login:
            scenarios.extend(_skip(n, n, "the front end has no 'login' URL yet") for n in options.scenarios)
            return

        # 1. Login herd (or, when not measured, the logins the later scenarios need).
        before = meter.snapshot()
        if "login" in want:
            with step(results, "scenario 1, login herd"):
                logger.info("Scenario 1: %d logins over %.0f s…", len(attendees), options.login_window)
                profiler.start("login")
                herd = await login_herd(browsers, urls, attendees, options.login_window, options.concurrency)
                profiler.finish("login")
            scenarios.append(herd)
            logger.info("  done: %d/%d, %d errors", herd.completed, herd.planned, herd.error_count)
        elif needed := logins_needed(options):
            name = f"log in {needed} attendees (not measured, for {', '.join(options.scenarios)})"
            with step(results, name):
                logger.info("Logging in %d attendees first (not measured)…", needed)
                warmup = Scenario("warmup", "logins (not measured)")
                await run_flows(
                    warmup,
                    [0.0] * needed,
                    lambda i: login(browsers[i], urls, attendees[i]),
                    concurrency=options.concurrency,
                    deadline=600,
                )
                if warmup.completed < needed:
                    first = ", ".join(f"{kind} ({count}×)" for kind, count in warmup.errors.most_common(3))
                    raise RuntimeError(f"{warmup.completed} of {needed} logged in; {first}")
            browsers = browsers[:needed]
            attendees = attendees[:needed]
        cpu["login"] = meter.delta(before, meter.snapshot())
        logged_in = [b for b in browsers if "sessionid" in b.cookies]
        results["logged_in"] = len(logged_in)

        # People log in before Matrix knows them when the directory is LDAP: provisioning again
        # now picks up the Django users the logins created (it only does what is new).
        if want & {"chat", "baseline"}:
            with step(results, "provision Matrix for the logged-in attendees"):
                started = time.monotonic()
                profiler.start("provision")
                output = await asyncio.to_thread(front.manage, "provision_matrix", "--no-progress", "--workers", "8")
                profiler.finish("provision")
            results.setdefault("setup", {})["provision_matrix_after_logins_s"] = round(time.monotonic() - started, 1)
            results["setup"]["provision_matrix_after_logins"] = [
                line for line in output.splitlines() if line.startswith(("Rooms:", "Accounts:", "Everything"))
            ]
        with step(results, "count rooms, accounts and BBB creates"):
            results["facts_before_chat"] = await asyncio.to_thread(stack.facts, MAIN_ROOM)

        # 2. Join storm.
        if "join" in want:
            if not urls.join:
                scenarios.append(_skip("join", "2. join storm", "the front end has no 'join' URL yet"))
            elif len(logged_in) < options.join_clients:
                scenarios.append(_skip("join", "2. join storm", f"only {len(logged_in)} attendees are logged in"))
            else:
                with step(results, "scenario 2, join storm"):
                    storm = await join_scenario(options, stack, logged_in, urls, meter, cpu, profiler)
                scenarios.append(storm)

        # 3. Chat open storm and delivery.
        chat_run = None
        if "chat" in want:
            if not (urls.chat_room and urls.chat_token):
                scenarios.append(_skip("chat_open", "3a. chat open storm", "no 'chat:room'/'chat:token' URL yet"))
            elif len(logged_in) < options.chat_clients:
                scenarios.append(
                    _skip("chat_open", "3a. chat open storm", f"only {len(logged_in)} attendees are logged in")
                )
            else:
                with step(results, "scenario 3, chat open storm and delivery"):
                    logger.info("Scenario 3: %d chat clients open the room's chat…", options.chat_clients)
                    before = meter.snapshot()
                    profiler.start("chat")
                    chat_run = await chat_storm(
                        logged_in,
                        urls,
                        clients=options.chat_clients,
                        deadline=options.chat_deadline,
                        concurrency=options.concurrency,
                        rate=options.message_rate,
                        seconds=options.message_seconds,
                        grace=options.delivery_grace,
                        seed=options.seed,
                    )
                    profiler.finish("chat")
                cpu["chat"] = meter.delta(before, meter.snapshot())
                scenarios += [chat_run.open, chat_run.delivery]
                logger.info(
                    "  open: %d/%d ready in %.1f s; delivery: %d messages, %s missing",
                    chat_run.open.completed,
                    chat_run.open.planned,
                    chat_run.open.elapsed,
                    chat_run.delivery.extra.get("messages_sent", 0),
                    chat_run.delivery.extra.get("deliveries_missing"),
                )

        # Baseline: the seed systems' flow on the same homeserver, against as many attendees not yet in
        # the chat opening it at once (3c), which the baseline brings with it.
        if "baseline" not in want:
            return
        at_once = None
        chatting = {id(c.browser) for c in chat_run.clients} if chat_run else set()
        spare = [b for b in logged_in if id(b) not in chatting][: options.baseline_clients]
        if not (urls.chat_room and urls.chat_token):
            scenarios.append(_skip("chat_open_at_once", "3c. chat open, all at once", "no 'chat:room' URL yet"))
        elif len(spare) < options.baseline_clients:
            reason = f"needs {options.baseline_clients} logged-in attendees not in the chat, has {len(spare)}"
            scenarios.append(_skip("chat_open_at_once", "3c. chat open, all at once", reason))
        else:
            with step(results, "scenario 3c, chat open all at once (for the baseline's ratio)"):
                logger.info("Scenario 3c: %d attendees not in the chat open it at once…", len(spare))
                before = meter.snapshot()
                at_once = await open_at_once(
                    spare, urls, concurrency=options.concurrency, deadline=options.baseline_deadline
                )
            cpu["chat_at_once"] = meter.delta(before, meter.snapshot())
            scenarios.append(at_once)
            logger.info("  ready: %d/%d in %.1f s", at_once.completed, at_once.planned, at_once.elapsed)

        with step(results, "baseline, find the provisioned track rooms"):
            facts = await asyncio.to_thread(stack.facts, MAIN_ROOM)
        track_rooms = [r["room_id"] for r in facts.get("matrix_rooms", []) if r["key"].startswith("track:")]
        if not track_rooms:
            scenarios.append(_skip("baseline", "seed flow (baseline)", "no provisioned track rooms"))
            return
        with step(results, "baseline, the seed flow"):
            logger.info(
                "Baseline: %d clients in the seed flow (%d rooms each; limit %.0f s)…",
                options.baseline_clients,
                len(track_rooms),
                options.baseline_deadline,
            )
            seed_browsers = [Browser(http, front.public_url) for _ in range(options.baseline_clients)]
            before = meter.snapshot()
            profiler.start("baseline")
            seed = await baseline(
                seed_browsers,
                stack.synapse.url,
                stack.synapse.registration_shared_secret,
                stack.synapse.admin_token,
                track_rooms,
                clients=options.baseline_clients,
                concurrency=options.concurrency,
                deadline=options.baseline_deadline,
            )
            profiler.finish("baseline")
        cpu["baseline"] = meter.delta(before, meter.snapshot())
        scenarios.append(seed)
        logger.info("  done: %d/%d in %.1f s", seed.completed, seed.planned, seed.elapsed)
        if at_once is not None:
            results["ratio"] = ratio(at_once, seed)
            value = results["ratio"].get("ratio")
            at_once.target(
                "ready vs seed flow",
                "≥ 10× sooner",
                results["ratio"]["text"],
                None if value is None else value >= 10,
            )
        if chat_run is not None:
            # The room is now bigger by the seed flow's accounts: re-open a few chats to show the
            # per-client requests do not grow with the room.
            with step(results, "room-size probe (chats re-opened after the seed flow)"):
                results["room_size_probe"] = await room_size_probe(chat_run, urls, facts, seed.completed)
            probe = results["room_size_probe"]
            chat_run.open.target(
                "homeserver requests/client constant in room size",
                "equal",
                f"{probe['hs_requests_before']} at {probe['members_before']} members, "
                f"{probe['hs_requests_after']} at {probe['members_after']}",
                probe["hs_requests_before"] == probe["hs_requests_after"],
            )
    finally:
        await http.close()


async def join_scenario(options: Options, stack, logged_in, urls, meter: CpuMeter, cpu, profiler) -> Scenario:
    from bench.scenarios import join_storm

    logger.info("Scenario 2: %d join clicks on one room…", options.join_clients)
    creates_before = (await asyncio.to_thread(stack.facts, MAIN_ROOM)).get("bbb_creates")
    before = meter.snapshot()
    profiler.start("join")
    storm = await join_storm(
        logged_in, urls, options.join_clients, options.join_window, options.join_burst, options.concurrency
    )
    profiler.finish("join")
    cpu["join"] = meter.delta(before, meter.snapshot())
    creates_after = (await asyncio.to_thread(stack.facts, MAIN_ROOM)).get("bbb_creates")
    creates = None if creates_after is None else creates_after - (creates_before or 0)
    storm.extra["bbb_creates"] = creates
    storm.target("BBB creates for the room", "= 1", str(creates), creates == 1)
    logger.info("  done: %d/%d, %d errors, %s creates", storm.completed, storm.planned, storm.error_count, creates)
    return storm


async def room_size_probe(chat_run, urls, facts: dict[str, Any], added: int, count: int = 20) -> dict[str, Any]:
    from bench.chat import ChatClient

    old = [c for c in chat_run.clients if c.since][:count]
    again = [ChatClient(c.browser, c.shape) for c in old]
    await asyncio.gather(*(c.open(urls) for c in again), return_exceptions=True)
    ready = [c for c in again if c.since]

    def avg(items, value):
        return round(sum(value(c) for c in items) / len(items), 1) if items else None

    members = facts.get("users", 0)
    return {
        "clients": len(ready),
        "members_before": members,
        "members_after": members + added,
        "hs_requests_before": avg(old, lambda c: c.open_traffic.requests),
        "hs_requests_after": avg(ready, lambda c: c.open_traffic.requests),
        "hs_bytes_before": avg(old, lambda c: c.open_traffic.bytes_in),
        "hs_bytes_after": avg(ready, lambda c: c.open_traffic.bytes_in),
    }


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    signal.signal(signal.SIGTERM, _interrupt)
    os.chdir(Path(__file__).resolve().parent.parent)
    runs: list[tuple[dict[str, Any], list[Scenario]]] = []
    status = 0
    for count in options.synapse_workers:
        if len(options.synapse_workers) > 1:
            logger.info("=== %s ===", topology_label(count))
        results, scenarios, run_status = run_once(options, count)
        runs.append((results, scenarios))
        status = max(status, run_status)
        if run_status == 130:
            break
    if len(options.synapse_workers) == 1:
        ((results, _),) = runs
        write_json(options.out, results)
        _print_run(results)
    else:
        comparison = format_comparison([(topology_label(r["synapse_workers"]), s) for r, s in runs])
        write_json(
            options.out,
            {
                "options": runs[0][0]["options"] | {"synapse_workers": list(options.synapse_workers)},
                "runs": [r for r, _ in runs],
                "comparison": comparison,
            },
        )
        for results, _ in runs:
            print(f"\n=== {topology_label(results['synapse_workers'])} ===")
            _print_run(results)
        print("\n=== side by side (same options and seed, one run after the other) ===\n")
        print(comparison)
    print(f"results: {options.out}")
    return status


def topology_label(synapse_workers: int) -> str:
    if not synapse_workers:
        return "one Synapse process"
    return f"{synapse_workers} sync worker{'s' if synapse_workers > 1 else ''} + nginx"


def run_once(options: Options, synapse_workers: int) -> tuple[dict[str, Any], list[Scenario], int]:
    """Start a fresh stack with `synapse_workers` sync workers (0: one Synapse process), run the
    scenarios, stop everything. Returns the results for the JSON, the scenarios and the exit status."""
    random.seed(options.seed)
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in options.__dict__.items()},
        "synapse_workers": synapse_workers,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "plan": plan(options),
    }
    logger.info("Scenarios: %s", ", ".join(options.scenarios))
    for line in results["plan"]:
        logger.info("  %s", line)
    scenarios: list[Scenario] = []
    root = Path(tempfile.mkdtemp(prefix="lpcfe-bench-"))
    status = 0
    try:
        with contextlib.ExitStack() as cleanup:
            if not options.keep:
                cleanup.push(lambda kind, error, trace: tidy(root, scenarios, results, kind))
            else:
                logger.info("Keeping the run folder %s", root)
            from bench.profiling import Profiler
            from bench.stack import Stack

            stack = Stack(
                root,
                workers=options.workers,
                threads=options.threads,
                bcrypt_rounds=options.bcrypt_rounds,
                keep=options.keep,
                profile_frontend=options.profile == "frontend",
                bbb_separate=options.bbb == "separate",
                synapse_workers=synapse_workers,
            )
            profiler = Profiler(options.profile, options.profile_scenario, options.out.parent, stack)
            cleanup.callback(profiler.after_stop)  # runs once the front end has stopped (registered before it)
            with step(results, "start the stack"):
                logger.info("Starting the stack in %s…", root)
                stack.start(cleanup)
            results["versions"] = stack.versions
            quotas = cap_workers(stack, options.worker_cpu_quota, cleanup) if options.worker_cpu_quota else {}
            if stack.topology is not None:
                results["topology"] = {
                    "synapse_workers": stack.topology.workers,
                    "event_persister": True,
                    "site": stack.topology.site_url,
                    "matrix": stack.topology.matrix_url,
                }
            front = stack.front
            setup = results.setdefault("setup", {})

            attendees = make_attendees(options.attendees)
            with step(results, "import the attendees"):
                tsv = write_attendees(root / "attendees.tsv", attendees)
                started = time.monotonic()
                front.manage("import_attendees", str(tsv), "--no-progress")
                setup["import_attendees_s"] = round(time.monotonic() - started, 1)
            with step(results, "import the schedule"):
                (root / "schedule").mkdir()
                schedule = write_schedule(root / "schedule", options.tracks)
                started = time.monotonic()
                front.manage("import_schedule", str(schedule))
                setup["import_schedule_s"] = round(time.monotonic() - started, 1)
            if set(options.scenarios) & {"chat", "baseline"}:
                with step(results, "provision Matrix"):
                    started = time.monotonic()
                    front.manage("provision_matrix", "--no-progress", "--workers", "8")
                    setup["provision_matrix_s"] = round(time.monotonic() - started, 1)
                    setup["synapse_settled_s"] = settle(stack)
            logger.info("Loaded %d attendees and %d tracks.", len(attendees), options.tracks)

            try:
                asyncio.run(drive(options, stack, attendees, results, profiler, scenarios))
            finally:
                results["synapse_syncs"] = sync_report(stack)
                if quotas:
                    results["worker_cpu_quota"] = {
                        name: {"percent": g.percent, **g.usage().as_json()} for name, g in quotas.items()
                    }
            results.pop("step", None)
            results["machine"] = machine_facts(stack.versions.get("synapse", ""), stack.versions.get("postgresql", ""))
    except KeyboardInterrupt:
        logger.error("Interrupted: everything started was stopped.")
        results["interrupted"] = True
        status = 130
    except Exception as exc:  # report what was measured so far, then fail
        failed = exc.step if isinstance(exc, StepFailed) else results.get("step", "the run")
        cause = exc.__cause__ if isinstance(exc, StepFailed) else exc
        logger.error("The run failed at step '%s': %s", failed, cause)
        results["error"] = str(cause)
        results["failed_step"] = failed
        status = 1
    results.pop("step", None)
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["scenarios"] = [s.as_json() for s in scenarios]
    versions = results.get("versions", {})
    results.setdefault("machine", machine_facts(versions.get("synapse", ""), versions.get("postgresql", "")))
    results["table"] = format_table(scenarios, results.get("ratio"), plan=results["plan"], failure=_failure(results))
    return results, scenarios, status


def tidy(root: Path, scenarios: list[Scenario], results: dict[str, Any], raised: type | None) -> bool:
    """Remove the run folder, unless a scenario had errors or a step failed: then it stays, with
    every server's log (nginx, gunicorn, Synapse), for finding out why. Returns False so that an
    exception goes on."""
    errors = sum(s.error_count for s in scenarios)
    if raised in (None, KeyboardInterrupt) and not errors:
        shutil.rmtree(root, ignore_errors=True)
        return False
    why = f"{errors} error{'s' if errors != 1 else ''}" if errors else "a failed step"
    logger.warning("The run had %s: its folder %s stays, with the servers' logs", why, root)
    results["kept_folder"] = str(root)
    return False


def _print_run(results: dict[str, Any]) -> None:
    print()
    print(results["table"])
    print()
    print("machine:", format_machine(results["machine"]))
    if results.get("cpu_seconds"):
        print("CPU seconds by part:", results["cpu_seconds"])
    if results.get("kept_folder"):
        print("kept for its logs:", results["kept_folder"])
    if results.get("synapse_syncs"):
        syncs = results["synapse_syncs"].items()
        print(
            "Syncs by Synapse process:",
            ", ".join(f"{k} {v['syncs']} ({v['cpu_ms_per_sync']} ms CPU each)" for k, v in syncs),
        )


def cap_workers(stack, percent: float, cleanup: contextlib.ExitStack) -> dict[str, Any]:
    """Each sync worker in a cgroup of its own allowed `percent` of a core (removed on exit);
    the main process, the persister and PostgreSQL stay uncapped."""
    from bench.quota import CpuController

    controller = cleanup.enter_context(CpuController.find())
    groups = {}
    for name, pid in stack.synapse.worker_pids().items():
        if name in stack.topology.worker_names:
            groups[name] = controller.group(name, percent)
            groups[name].add(pid)
    logger.info("Sync workers capped at %.0f %% of a core each (cgroups v%d)", percent, controller.version)
    return groups


def sync_report(stack) -> dict[str, dict[str, float | int]]:
    """Syncs answered by each Synapse process over the run and their CPU, from Synapse's own logs."""
    from bench.profiling import sync_costs

    synapse = stack.synapse
    if synapse is None:
        return {}
    logs = {"main": synapse.log_path, **{name: synapse.worker_log(name) for name in synapse.worker_names}}
    return {name: sync_costs(path.read_text(errors="replace")) for name, path in logs.items() if path.exists()}


def _failure(results: dict[str, Any]) -> str | None:
    if "failed_step" not in results:
        return None
    return f"The run failed at step '{results['failed_step']}': {results['error']}"
