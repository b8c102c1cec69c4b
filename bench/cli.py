"""Command-line options of `python -m bench`, with the full-size and the --quick defaults."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

SCENARIOS = ("login", "join", "chat", "baseline")

# name: (full run, --quick)
DEFAULTS: dict[str, tuple[object, object]] = {
    "attendees": (1000, 100),
    "login_window": (60.0, 10.0),
    "join_clients": (500, 50),
    "join_window": (30.0, 5.0),
    "join_burst": (10, 5),
    "chat_clients": (500, 50),
    "chat_deadline": (60.0, 60.0),
    "message_rate": (2.0, 2.0),
    "message_seconds": (60.0, 10.0),
    "delivery_grace": (30.0, 15.0),
    "baseline_clients": (None, None),  # None: as many as chat clients
    "baseline_deadline": (900.0, 300.0),
    "tracks": (4, 3),
    "concurrency": (50, 50),
}


@dataclass
class Options:
    attendees: int
    login_window: float
    join_clients: int
    join_window: float
    join_burst: int
    chat_clients: int
    chat_deadline: float
    message_rate: float
    message_seconds: float
    delivery_grace: float
    baseline_clients: int
    baseline_deadline: float
    tracks: int
    concurrency: int
    workers: int
    threads: int
    synapse_workers: tuple[int, ...]  # one run per count, side by side; 0: one Synapse process
    worker_cpu_quota: float
    bcrypt_rounds: int
    scenarios: tuple[str, ...]
    out: Path
    quick: bool
    keep: bool
    seed: int
    profile: str
    profile_scenario: str
    bbb: str


EPILOG = """\
Scenarios (all by default; pick with --scenarios):
  login     N attendees log in through the real form (GET login, POST with CSRF) and load the front page;
            arrivals spread evenly over --login-window seconds.
  join      --join-clients attendees POST join (CSRF) on the same room within --join-window seconds
            (the first --join-burst at the same instant); counts BBB creates at the BBB double.
  chat      --chat-clients attendees open that room's chat (chat page, token hand-off, first filtered
            sync), arriving over --chat-deadline seconds, then long-poll /sync like the embedded client
            while random clients send --message-rate messages/s for --message-seconds; every client must
            receive every message.
  baseline  the seed systems' flow against the same homeserver (register at first login, auto-join all
            track rooms, password login, unfiltered sync) for --baseline-clients starting at once, and
            as many other attendees opening our chat at once: the ratio of times until all are ready.

Everything runs on loopback (PostgreSQL, slapd, Synapse, gunicorn; with --synapse-workers also nginx and
Redis, the clients then going through nginx) and is stopped at the end, also on Ctrl-C.
Results: a table on stdout and JSON in --out (default bench/results/latest.json). A run with errors or a
failed step keeps its folder (every server's log: nginx, gunicorn, Synapse) and prints where it is.

Topologies side by side: --synapse-workers 0,2 runs everything twice in one invocation, first on one
Synapse process, then through nginx on 2 sync workers, each on a fresh stack with the same seed, and ends
with a table of both (the JSON then holds both runs under "runs").
"""


@dataclass(frozen=True)
class Need:
    """Logged-in attendees a scenario needs before it starts."""

    scenario: str
    attendees: int
    why: str


def needs(scenarios: tuple[str, ...], join_clients: int, chat_clients: int, baseline_clients: int) -> list[Need]:
    """What each chosen scenario needs. The login herd logs everyone in; without it, the run logs in
    as many attendees as the others need, unmeasured. The baseline's ratio compares the seed flow with
    as many attendees who are not in the chat yet opening it at once (3c), so with the chat scenario
    both sets of clients must be logged in side by side."""
    found = []
    if "join" in scenarios:
        found.append(Need("join", join_clients, f"join needs {join_clients} logged-in attendees (--join-clients)"))
    if "chat" in scenarios:
        found.append(Need("chat", chat_clients, f"chat needs {chat_clients} logged-in attendees (--chat-clients)"))
    if "baseline" in scenarios:
        beside = chat_clients if "chat" in scenarios else 0
        why = f"baseline needs {baseline_clients} logged-in attendees (--baseline-clients) to open the chat at once"
        if beside:
            why += f", besides the {chat_clients} chat clients"
        found.append(Need("baseline", baseline_clients + beside, why))
    return found


def logins_needed(options: Options) -> int:
    """Attendees to log in, unmeasured, when the login herd is not among the scenarios."""
    found = needs(options.scenarios, options.join_clients, options.chat_clients, options.baseline_clients)
    return max((n.attendees for n in found), default=0)


def plan(options: Options) -> list[str]:
    """What the run does besides the chosen scenarios, in words, so that a subset says what it brought."""
    steps = []
    chosen = set(options.scenarios)
    if "login" not in chosen and (count := logins_needed(options)):
        steps.append(f"{count} attendees log in first, not measured (the login herd is not among the scenarios)")
    if chosen & {"chat", "baseline"}:
        steps.append("Matrix is provisioned before the scenarios (as before an event), not measured")
    if "baseline" in chosen:
        steps.append(
            f"baseline brings 3c: {options.baseline_clients} logged-in attendees not in the chat open it at once, "
            "for the ratio against the seed flow"
        )
        if "chat" not in chosen:
            steps.append("the room-size probe (re-opening chats after the seed flow) needs the chat scenario: not run")
    return steps


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Herd benchmarks: start the real stack on loopback (front end under gunicorn on PostgreSQL, "
            "slapd, Synapse on PostgreSQL, the BBB double), load attendees and a schedule, provision "
            "Matrix, then measure the login herd, the join storm and the chat open storm against the "
            "seed systems' flow."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    full, quick = ({k: v[0] for k, v in DEFAULTS.items()}, {k: v[1] for k, v in DEFAULTS.items()})

    def both(name: str) -> str:
        return f"(default {full[name]}; --quick {quick[name]})"

    parser.add_argument(
        "--quick", action="store_true", help="small and short: checks that the harness works (100 attendees)"
    )
    size = parser.add_argument_group("size and timing")
    size.add_argument("-n", "--attendees", type=int, help=f"attendees imported and logged in {both('attendees')}")
    size.add_argument("--login-window", type=float, help=f"seconds the logins arrive over {both('login_window')}")
    size.add_argument("--join-clients", type=int, help=f"attendees clicking join {both('join_clients')}")
    size.add_argument("--join-window", type=float, help=f"seconds the join clicks arrive over {both('join_window')}")
    size.add_argument("--join-burst", type=int, help=f"join clicks at the very same instant {both('join_burst')}")
    size.add_argument("--chat-clients", type=int, help=f"attendees opening the chat {both('chat_clients')}")
    size.add_argument(
        "--chat-deadline", type=float, help=f"seconds allowed for all chat clients to be ready {both('chat_deadline')}"
    )
    size.add_argument("--message-rate", type=float, help=f"messages per second sent {both('message_rate')}")
    size.add_argument("--message-seconds", type=float, help=f"seconds of sending {both('message_seconds')}")
    size.add_argument(
        "--delivery-grace",
        type=float,
        help=f"seconds after the last send for deliveries to arrive {both('delivery_grace')}",
    )
    size.add_argument("--baseline-clients", type=int, help="clients in the seed flow (default: --chat-clients)")
    size.add_argument(
        "--baseline-deadline", type=float, help=f"hard limit for the seed flow, seconds {both('baseline_deadline')}"
    )
    size.add_argument("--tracks", type=int, help=f"tracks (each with its chat room) {both('tracks')}")
    size.add_argument(
        "--concurrency",
        type=int,
        help=f"most flows in progress at once per scenario (the load generator's bound) {both('concurrency')}",
    )
    stack = parser.add_argument_group("stack")
    stack.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    stack.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker, gthread (default 8)")
    stack.add_argument(
        "--synapse-workers",
        type=_worker_counts,
        default=(0,),
        metavar="N[,N...]",
        help="run the production topology (docs/deployment.md) with this many Synapse sync workers behind "
        "nginx, an event persister and Redis; 0: one Synapse process, no nginx (default 0). Several counts, "
        "e.g. 0,2: one run after the other on fresh stacks, compared in one table",
    )
    stack.add_argument(
        "--worker-cpu-quota",
        type=float,
        default=0,
        metavar="PERCENT",
        help="cap each Synapse sync worker at this share of one core (cgroups cpu quota, needs root; the "
        "sweep over worker counts is python -m bench.scaling); 0: uncapped (default 0)",
    )
    stack.add_argument(
        "--bbb",
        choices=("separate", "inside"),
        default="separate",
        help="where the BBB double runs: its own gunicorn process reached through BBB_URL, as BBB runs on its "
        "own servers (default), or mounted inside the front end (BBB_URL empty, as in the demo)",
    )
    stack.add_argument(
        "--bcrypt-rounds", type=int, default=12, help="Synapse bcrypt_rounds; 12 is Synapse's default (default 12)"
    )
    stack.add_argument(
        "--profile",
        choices=("none", "frontend", "synapse"),
        default="none",
        help="profile the front end (cProfile in every worker) or Synapse (its per-request CPU and database "
        "accounting, by endpoint) during one scenario; summaries go next to --out",
    )
    stack.add_argument(
        "--profile-scenario",
        choices=("login", "provision", "join", "chat", "baseline"),
        default="chat",
        help="the scenario --profile records (default chat); provision: the provision_matrix run after the logins",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)} (default all)",
    )
    out.add_argument("--out", type=Path, default=Path("bench/results/latest.json"), help="JSON result file")
    out.add_argument("--keep", action="store_true", help="keep the run folder and databases for inspection")
    out.add_argument("--seed", type=int, default=2021, help="random seed (which clients send, arrival order)")
    return parser


def _worker_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give a count or counts separated by commas, e.g. 0,2") from None
    if any(n < 0 for n in counts):
        raise argparse.ArgumentTypeError("0 (one Synapse process) or more sync workers")
    if len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError(f"{text!r}: each count once")
    return counts


def parse_args(argv: list[str] | None = None) -> Options:
    parser = build_parser()
    args = parser.parse_args(argv)
    column = 1 if args.quick else 0
    values = {}
    for name, pair in DEFAULTS.items():
        given = getattr(args, name)
        values[name] = pair[column] if given is None else given
    scenarios = tuple(s.strip() for s in args.scenarios.split(",") if s.strip())
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"--scenarios: unknown {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    if not scenarios:
        parser.error(f"--scenarios: name at least one of {', '.join(SCENARIOS)}")
    if values["baseline_clients"] is None:
        values["baseline_clients"] = values["chat_clients"]
    for name in ("attendees", "join_clients", "chat_clients", "baseline_clients", "tracks", "concurrency"):
        if values[name] < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for need in needs(scenarios, values["join_clients"], values["chat_clients"], values["baseline_clients"]):
        if need.attendees > values["attendees"]:
            parser.error(
                f"--scenarios {','.join(scenarios)}: {need.why} ({need.attendees}), but --attendees is "
                f"{values['attendees']}; raise --attendees or lower the client counts"
            )
    if values["message_rate"] <= 0 or values["message_seconds"] < 0:
        parser.error("--message-rate must be positive and --message-seconds not negative")
    if not 4 <= args.bcrypt_rounds <= 16:
        parser.error("--bcrypt-rounds must be between 4 and 16")
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be at least 1")
    if args.worker_cpu_quota and not (0 < args.worker_cpu_quota <= 100 and all(args.synapse_workers)):
        parser.error(
            "--worker-cpu-quota needs sync workers in every run (--synapse-workers above 0) and a share "
            "between 0 and 100 (percent of a core)"
        )
    if args.profile != "none" and len(args.synapse_workers) > 1:
        parser.error("--profile records one run: give one --synapse-workers count")
    options = Options(
        **values,
        workers=args.workers,
        threads=args.threads,
        synapse_workers=args.synapse_workers,
        worker_cpu_quota=args.worker_cpu_quota,
        bcrypt_rounds=args.bcrypt_rounds,
        scenarios=scenarios,
        out=args.out,
        quick=args.quick,
        keep=args.keep,
        seed=args.seed,
        profile=args.profile,
        profile_scenario=args.profile_scenario,
        bbb=args.bbb,
    )
    return options
