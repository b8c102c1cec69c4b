"""The benchmark harness's own checks: option parsing, what each scenario needs, the report; and one
small real run of a single scenario (the full benchmark is `python -m bench`, see README "Performance")."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.chat import ClientShape, client_shape
from bench.cli import logins_needed, parse_args, plan
from bench.profiling import endpoint, summarise_synapse_log, sync_costs
from bench.report import Scenario, format_comparison, format_table, percentile, write_json
from bench.run import StepFailed, step, tidy
from bench.scenarios import spread


def test_full_and_quick_defaults_and_overrides():
    full = parse_args([])
    assert (full.attendees, full.chat_clients, full.join_clients, full.baseline_clients) == (1000, 500, 500, 500)
    assert full.scenarios == ("login", "join", "chat", "baseline") and full.bcrypt_rounds == 12
    quick = parse_args(["--quick", "--chat-clients", "20"])
    assert (quick.attendees, quick.chat_clients, quick.baseline_clients) == (100, 20, 20)
    assert parse_args(["--scenarios", "login,chat"]).scenarios == ("login", "chat")
    assert (full.synapse_workers, parse_args(["--synapse-workers", "3"]).synapse_workers) == ((0,), (3,))
    assert parse_args(["--synapse-workers", "0,2"]).synapse_workers == (0, 2)
    capped = parse_args(["--synapse-workers", "2", "--worker-cpu-quota", "25"])
    assert (full.worker_cpu_quota, capped.worker_cpu_quota) == (0, 25)


@pytest.mark.parametrize(
    "argv",
    [
        ["--scenarios", "login,nope"],
        ["--quick", "--chat-clients", "101"],
        ["--bcrypt-rounds", "2"],
        ["-n", "0"],
        ["--synapse-workers", "-1"],
        ["--worker-cpu-quota", "25"],
        ["--synapse-workers", "2", "--worker-cpu-quota", "150"],
        ["--synapse-workers", "0,2", "--worker-cpu-quota", "25"],
        ["--synapse-workers", "2,2"],
        ["--synapse-workers", "two"],
        ["--synapse-workers", "0,2", "--profile", "synapse"],
    ],
)
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_percentiles_and_arrivals():
    samples = [i / 100 for i in range(1, 101)]
    assert percentile(samples, 50) == 0.5 and percentile(samples, 95) == 0.95 and percentile(samples, 99) == 0.99
    assert percentile([], 95) is None
    arrivals = spread(10, 10.0, burst=4)
    assert arrivals[:4] == [0.0] * 4 and arrivals[-1] == pytest.approx(9.0) and arrivals == sorted(arrivals)


def test_table_and_json(tmp_path):
    herd = Scenario("login", "1. login herd", planned=3, latencies=[0.1, 0.2, 0.25], started_at=10.0, finished_at=12.0)
    herd.target("p95", "< 300 ms", "250 ms", True)
    chat = Scenario("chat_open", "3a. chat open storm", planned=2, latencies=[1.5], started_at=0, finished_at=3)
    chat.error("token hand-off: HTTP 503")
    chat.extra["hs_requests_per_client"] = 1.0
    chat.target("p95 per client", "< 2 s", "1500 ms", False)
    skipped = Scenario("join", "2. join storm", skipped="no 'join' URL")
    table = format_table([herd, skipped, chat], {"ours_s": 3.0, "baseline_s": 300.0, "text": "100× sooner"})
    lines = table.splitlines()
    assert lines[0].split() == ["scenario", "done", "errors", "time", "per", "s", "p50", "p95", "p99"]
    assert "3/3" in lines[2] and "200 ms" in lines[2] and "250 ms" in lines[2] and "2.00 s" in lines[2]
    assert "skipped" in lines[3] and "1/2" in lines[4]
    assert "homeserver requests/client 1.0" in table and "100× sooner" in table
    assert "[met] 1. login herd: p95 < 300 ms" in table and "[MISSED] 3a. chat open storm" in table
    out = tmp_path / "r.json"
    write_json(out, {"scenarios": [herd.as_json(), chat.as_json()]})
    data = json.loads(out.read_text())
    assert data["scenarios"][0]["latency_s"]["p95"] == 0.25 and data["scenarios"][0]["throughput_per_s"] == 1.5
    assert data["scenarios"][1]["error_kinds"] == {"token hand-off: HTTP 503": 1}


def test_topologies_side_by_side_put_each_scenarios_runs_one_above_the_other():
    def run(p95: float, errors: int = 0, met: bool = True) -> list[Scenario]:
        delivery = Scenario("delivery", "3b. chat delivery", planned=4, latencies=[0.5, 1.0, 2.0, p95])
        delivery.finished_at = 70.0
        for _ in range(errors):
            delivery.error("lost")
        delivery.target("p95 send → last receiver", "< 3 s", ms_text(p95), met)
        return [Scenario("login", "1. login herd", planned=1, latencies=[0.05], finished_at=1.0), delivery]

    def ms_text(seconds: float) -> str:
        return f"{seconds * 1000:.0f} ms"

    table = format_comparison([("one Synapse process", run(11.4, met=False)), ("2 sync workers + nginx", run(2.9))])
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["scenario", "run", "done"]
    login_one, login_two, delivery_one, delivery_two = lines[2:6]
    assert login_one.startswith("1. login herd") and "one Synapse process" in login_one
    assert login_two.split()[:4] == ["2", "sync", "workers", "+"] and "50 ms" in login_two
    assert delivery_one.startswith("3b. chat delivery") and "11.40 s" in delivery_one and "0/1 met" in delivery_one
    assert "2.90 s" in delivery_two and "1/1 met" in delivery_two
    assert table.endswith("one Synapse process: 3b. chat delivery: p95 send → last receiver < 3 s (measured 11400 ms)")
    only_one = format_comparison([("one", run(1.0)), ("two", run(1.0)[:1])])
    assert only_one.splitlines()[-1].split() == ["two", "not", "run"]


def test_client_shape_mirrors_the_embedded_client():
    shape = client_shape()
    assert isinstance(shape, ClientShape) and shape.timeline_limit > 0 and shape.sync_timeout_ms >= 1000
    room = json.loads(shape.sync_filter("!r:x"))["room"]
    assert room["rooms"] == ["!r:x"] and room["timeline"]["lazy_load_members"] is True


def test_synapse_log_summary_groups_by_endpoint():
    line = (
        "2026-11-25 01:00:00,000 - synapse.access.http.1 - 1 - INFO - GET-1 - 127.0.0.1 - 1 - {@a:x} Processed "
        'request: 0.020sec/0.000sec ru=(0.010sec, 0.002sec) db=(0.001sec/0.004sec/2) 2048B 200 "GET '
        '/_matrix/client/v3/rooms/!abc:x/messages?dir=b HTTP/1.1" "ua" [0 dbevts]'
    )
    assert endpoint("/_matrix/client/v3/rooms/!abc:x/messages?dir=b") == "/_matrix/client/v3/rooms/{id}/messages"
    summary = summarise_synapse_log("\n".join([line, line, "unrelated"]))
    assert "requests: 2" in summary and "GET /_matrix/client/v3/rooms/{id}/messages" in summary


@pytest.mark.parametrize(
    ("scenarios", "logins", "brought"),
    [
        ("login", 0, []),
        ("join", 50, ["50 attendees log in first, not measured"]),
        ("chat", 50, ["50 attendees log in first", "Matrix is provisioned"]),
        ("baseline", 50, ["50 attendees log in first", "Matrix is provisioned", "baseline brings 3c", "room-size"]),
        ("login,join", 50, []),
        ("chat,baseline", 100, ["100 attendees log in first", "Matrix is provisioned", "baseline brings 3c"]),
    ],
)
def test_each_scenario_says_what_it_brings(scenarios, logins, brought):
    """A subset logs in what it needs (unmeasured without the login herd) and says so."""
    options = parse_args(["--quick", "--scenarios", scenarios])
    assert logins_needed(options) == logins
    said = plan(options)
    assert len(said) == len(brought)
    assert all(line.startswith(start) or start in line for line, start in zip(said, brought, strict=True))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--quick", "--scenarios", "baseline", "--baseline-clients", "101"], "baseline needs 101 logged-in"),
        (["--quick", "--scenarios", "chat,baseline", "--chat-clients", "60"], "besides the 60 chat clients (120)"),
        (["--quick", "--scenarios", "join", "--join-clients", "101"], "join needs 101 logged-in"),
        (["--scenarios", ","], "name at least one"),
    ],
)
def test_a_subset_that_cannot_be_served_is_refused_before_anything_starts(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_failed_step_is_named_and_the_finished_figures_stay():
    results: dict = {}
    with pytest.raises(StepFailed) as failed, step(results, "scenario 3, chat open storm"):
        raise ConnectionError("homeserver went away")
    assert failed.value.step == "scenario 3, chat open storm" and results["step"] == failed.value.step
    herd = Scenario("login", "1. login herd", planned=2, latencies=[0.1, 0.2], started_at=0.0, finished_at=1.0)
    table = format_table(
        [herd], plan=["50 attendees log in first"], failure=f"The run failed at step '{failed.value.step}': x"
    )
    assert "2/2" in table.splitlines()[2]
    assert "besides the scenarios:\n  50 attendees log in first" in table
    assert table.endswith("chat open storm': x (the figures above are from the scenarios that finished before)")


def test_a_run_with_errors_keeps_its_folder_for_the_logs(tmp_path):
    clean, errored, failed = tmp_path / "clean", tmp_path / "errored", tmp_path / "failed"
    for folder in (clean, errored, failed):
        (folder / "nginx").mkdir(parents=True)
        (folder / "nginx" / "nginx-error.log").write_text("upstream prematurely closed connection")
    fine = Scenario("login", "1. login herd", planned=1, latencies=[0.1])
    broken = Scenario("chat_open_at_once", "3c. chat open, all at once", planned=2, latencies=[1.0])
    broken.error("token hand-off: HTTP 502")
    results: dict = {}
    assert tidy(clean, [fine], results, None) is False and not clean.exists() and "kept_folder" not in results
    tidy(errored, [fine, broken], results, None)
    assert (errored / "nginx" / "nginx-error.log").exists() and results["kept_folder"] == str(errored)
    tidy(failed, [fine], {}, RuntimeError)
    assert failed.exists()
    tidy(failed, [fine], {}, KeyboardInterrupt)  # stopped by hand: nothing to look into
    assert not failed.exists()


def _can_start_the_bench_stack() -> bool:
    return os.geteuid() == 0 and shutil.which("pg_lsclusters") is not None and Path("/usr/sbin/slapd").exists()


@pytest.mark.bench
@pytest.mark.skipif(not _can_start_the_bench_stack(), reason="needs root, Debian's PostgreSQL and slapd (bin/setup)")
def test_join_alone_brings_its_logins_and_runs_on_both_topologies(tmp_path):
    """`--scenarios join` on its own, on one Synapse process and then through nginx on one sync
    worker: each stack starts, 10 attendees log in unmeasured, the join storm runs on them and the
    room is created once; the two runs end in one table."""
    out = tmp_path / "join.json"
    argv = ["--quick", "--scenarios", "join", "-n", "10", "--join-clients", "10", "--join-window", "2"]
    argv += ["--synapse-workers", "0,1"]
    result = subprocess.run(
        [sys.executable, "-m", "bench", *argv, "--out", str(out)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["options"]["synapse_workers"] == [0, 1]
    single, workers = data["runs"]
    assert (single["synapse_workers"], workers["synapse_workers"]) == (0, 1)
    assert "topology" not in single and workers["topology"]["site"] != workers["topology"]["matrix"]
    for run in (single, workers):
        assert run["plan"] == ["10 attendees log in first, not measured (the login herd is not among the scenarios)"]
        assert "failed_step" not in run
        (join,) = run["scenarios"]
        assert (join["name"], join["completed"], join["errors"], join["extra"]["bbb_creates"]) == ("join", 10, 0, 1)
    assert "=== one Synapse process ===" in result.stdout and "=== 1 sync worker + nginx ===" in result.stdout
    side_by_side = result.stdout.split("=== side by side")[1]
    assert "2. join storm" in side_by_side and "1 sync worker + nginx" in side_by_side and "10/10" in side_by_side


def test_sync_costs_count_only_syncs_and_their_cpu():
    def line(path: str, utime: str, stime: str) -> str:
        return (
            "2026-12-01 10:00:00,000 - synapse.access.http.8101 - 1 - INFO - GET-1 - 127.0.0.1 - 8101 - {@a:x} "
            f"Processed request: 0.020sec/0.000sec ru=({utime}sec, {stime}sec) db=(0.001sec/0.004sec/2) 2048B 200 "
            f'"GET {path} HTTP/1.1" "ua" [0 dbevts]'
        )

    text = "\n".join(
        [
            line("/_matrix/client/v3/sync?since=s1&timeout=30000", "0.010", "0.002"),
            line("/_matrix/client/v3/sync?timeout=0", "0.004", "0.000"),
            line("/_matrix/client/v3/rooms/!r:x/messages?dir=b", "0.050", "0.000"),
        ]
    )
    assert sync_costs(text) == {"syncs": 2, "cpu_s": 0.02, "cpu_ms_per_sync": 8.0, "bytes_per_sync": 2048}
    assert sync_costs("") == {"syncs": 0, "cpu_s": 0.0, "cpu_ms_per_sync": None, "bytes_per_sync": None}


def test_live_bench_compares_the_seed_flow_with_rounds_of_its_size(capsys):
    from bench.live import format_table, main

    with pytest.raises(SystemExit):
        main(["--viewers", "100", "--sync-viewers", "", "--baseline", "500"])
    assert "--baseline 500: add a round of that size" in capsys.readouterr().err
    live = {"path": "live", "viewers": 500, "open_ready_p95_s": 1.4, "open_all_ready_s": 1.5, "lost": 0}
    seed = {"path": "seed flow", "viewers": 500, "open_ready_p95_s": 350.0, "open_all_ready_s": 360.0}
    seed["ratios"] = {"live": {"ours_s": 1.5, "baseline_s": 360.0, "ratio": 240.0, "text": "240.0× sooner"}}
    table = format_table([live, seed])
    assert "| seed flow | 500 | 350.0 / 360.0 | - | - | - | - |" in table
    assert table.endswith("live, 500 at once, vs seed flow: ours 1.5 s, seed flow 360.0 s: 240.0× sooner")


def test_live_bench_reader_process_reports_each_reception_once():
    """A reader process's viewers, told as JSON lines in several calls, end up identical in the parent."""
    from bench.live import Viewer, apply, changes

    there = [Viewer(), Viewer(), Viewer()]
    told = [[0, 0, 0] for _ in there]
    here = [Viewer() for _ in there]
    there[0].ready, there[0].received[1] = 0.5, 100.25
    there[2].errors = 1
    apply(json.loads(json.dumps(changes(there, told))), here)
    there[0].received[2] = 100.75
    there[1].ready, there[1].received[1] = 0.75, 100.5
    rows = json.loads(json.dumps(changes(there, told)))
    assert [row[0] for row in rows] == [0, 1]
    assert rows[0] == [0, None, [[2, 100.75]], 0]
    apply(rows, here)
    assert changes(there, told) == []
    assert here == there
