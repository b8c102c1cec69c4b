"""The scaling sweep's parts: a CPU quota that really caps a process (bench/quota.py) and the
scalability curve fitted to its throughputs (bench/scaling.py). The sweep itself is
`python -m bench.scaling` (docs/benchmarks.md, "Scaling under a CPU quota")."""

import subprocess
import sys
import time

import pytest

from bench.quota import CpuController, QuotaError, unavailable
from bench.scaling import capacity, fit_usl, normalised, sync_interval, usl, workers_for

WHY_NOT = unavailable()


@pytest.mark.skipif(
    WHY_NOT is not None, reason=f"needs a writable cpu controller (cgroups v2 cpu.max or v1 cpu, root): {WHY_NOT}"
)
def test_quota_caps_a_busy_process_to_its_share_and_the_group_goes_afterwards():
    loop = "import time\nend = time.time() + 30\nwhile time.time() < end: pass"
    busy = subprocess.Popen([sys.executable, "-c", loop])
    try:
        with CpuController.find() as quotas:
            # 10 %: low enough that the cap binds even when the shared machine leaves the loop little.
            group = quotas.group("test-busy", 10)
            group.add(busy.pid)
            before, started = group.usage(), time.monotonic()
            time.sleep(1.5)
            used = group.usage() - before
            seconds = time.monotonic() - started
            path = group.path
            assert path.exists()
            # Unthrottled, a busy loop takes a whole core (or what the shared machine leaves it);
            # capped at 10 % it gets at most 10 ms of each 100 ms period (+ a tick of accounting).
            assert used.cpu_s / seconds <= 0.1 + 0.05, used
            assert used.cpu_s > 0.01, used
            assert used.periods >= 10 and used.throttled >= used.periods // 3, used
            assert used.throttled_s > 0.3, used
        assert not path.exists()
        # Back in the root group: nothing holds it to 10 % any more.
        assert str(busy.pid) in (quotas.root / "cgroup.procs").read_text().split()
    finally:
        busy.kill()
        busy.wait()


@pytest.mark.skipif(WHY_NOT is not None, reason=f"needs a writable cpu controller: {WHY_NOT}")
def test_quota_refuses_a_share_out_of_range_and_leaves_nothing_behind():
    with CpuController.find() as quotas:
        with pytest.raises(QuotaError, match="not between 0"):
            quotas.group("test-zero", 0)
        assert not list(quotas.root.glob(f"{quotas.tag}-*"))


def test_usl_fit_recovers_known_contention_and_coherency():
    points = {n: usl(n, 40.0, 0.08, 0.02) for n in (1, 2, 3, 4)}
    fit = fit_usl(points)
    assert fit["lambda"] == 40.0
    assert fit["sigma"] == pytest.approx(0.08, abs=1e-9)
    assert fit["kappa"] == pytest.approx(0.02, abs=1e-9)
    assert fit["worst_error"] < 1e-9
    assert fit["peak_workers"] == pytest.approx(((1 - 0.08) / 0.02) ** 0.5)


def test_usl_fit_of_linear_and_noisy_super_linear_data_clamps_at_zero():
    linear = fit_usl({1: 30.0, 2: 60.0, 3: 90.0, 4: 120.0})
    assert linear["sigma"] == pytest.approx(0) and linear["kappa"] == pytest.approx(0)
    assert linear["peak_workers"] == float("inf")
    noisy = fit_usl({1: 30.0, 2: 62.0, 3: 88.0, 4: 121.0})
    assert noisy["sigma"] >= 0 and noisy["kappa"] >= 0 and noisy["worst_error"] < 0.05
    with pytest.raises(ValueError, match="X\\(1\\)"):
        fit_usl({2: 60.0, 3: 90.0})


def test_workers_for_a_demand_stops_where_the_curve_peaks():
    fit = fit_usl({n: usl(n, 40.0, 0.05, 0.01) for n in (1, 2, 3, 4)})
    assert workers_for(39.0, fit) == 1
    assert workers_for(100.0, fit) == 3  # 40, 74.8, 103.4
    peak = usl(round(fit["peak_workers"]), 40.0, 0.05, 0.01)
    assert workers_for(peak * 1.01, fit) is None


def test_capacity_counts_paced_syncs_and_a_core_per_worker():
    results = {
        "options": {"quota": 25.0},
        "fit": fit_usl({n: usl(n, 30.0, 0.0, 0.0) for n in (1, 2, 3, 4)}),
        "points": [
            {"workers": 1, "syncs_per_s": 20.0},
            {"workers": 4, "syncs": 1000, "cpu_seconds": {"postgresql (all clients)": 2.0, "nginx": 1.0}},
        ],
    }
    small, big = capacity(results, cases=((1000, 500, 2.0), (5000, 2000, 2.0)))
    # A member of a 500 room syncs every 2.5 s (chat.js's 5 s pause, capped for p95 < 3 s), plus
    # 500 others every 30 s; a whole core is 4 × the 20 syncs/s measured at 25 %; planned 70 % busy.
    assert small["sync_interval_s"] == 2.5 and small["syncs_per_s"] == 217  # 200 + 16.7
    assert small["syncs_per_s_per_core"] == 80.0
    assert small["sync_workers"] == small["sync_workers_if_linear"] == 4  # ceil(216.7 / 0.7 / 80)
    assert small["postgresql_and_nginx_cores"] == 0.7  # 3 ms of their CPU per sync
    assert small["cores"] == 4 + 1 + 1
    assert big["syncs_per_s"] == 900 and big["sync_workers"] == 17
    contended = dict(results, fit=fit_usl({n: usl(n, 30.0, 0.1, 0.05) for n in (1, 2, 3, 4)}))
    beyond = capacity(contended, cases=((5000, 2000, 2.0),))[0]
    assert beyond["sync_workers"] is None and "cores" not in beyond and beyond["sync_workers_if_linear"] == 17


def test_sync_interval_is_one_message_in_a_small_room_and_the_capped_pause_in_a_big_one():
    assert sync_interval(30, 2.0) == 0.5  # the 0.4 s pause is shorter than the gap between messages
    assert sync_interval(200, 2.0) == 2.0
    assert sync_interval(2000, 2.0) == 2.5
    assert sync_interval(2000, 2.0, pause_max_s=10) == 5.0  # chat.js's own longest pause


def test_normalised_throughput_compares_equal_work_per_sync():
    points = [
        {"workers": 1, "syncs_per_s": 20.0, "worker_cpu_ms_per_sync": 12.0},
        {"workers": 4, "syncs_per_s": 100.0, "worker_cpu_ms_per_sync": 9.0},
    ]
    assert normalised(points) == {1: 26.67, 4: 100.0}
