"""A fixed CPU quota per process, so that a 2-core machine can say what one core per Synapse worker
would do: each capped process gets `percent` of one core per 100 ms period and no more, however
idle the machine is.

cgroups v2 (`cpu.max` "25000 100000") when the unified hierarchy has the cpu controller, else
cgroups v1's cpu controller (`cpu.cfs_quota_us` 25000 over `cpu.cfs_period_us` 100000: the same
limit in the older files). Both need root. `cpu.stat` then shows whether the cap bit: periods in
which the group ran out of quota (nr_throttled) and the time it waited (throttled_time /
throttled_usec). Groups are made under the controller's root, named for this process, and removed
on close (their processes moved back to the root first), also when the run fails.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

V2_ROOT = Path("/sys/fs/cgroup")
V1_ROOT = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000


class QuotaError(RuntimeError):
    """No writable cpu controller, or a group could not be made or filled; the message says which."""


@dataclass
class Usage:
    """What a group's cpu.stat and its processes say between two readings."""

    cpu_s: float  # CPU the group's processes used
    periods: int  # quota periods in which the group ran
    throttled: int  # of which the quota ran out
    throttled_s: float  # time its processes waited for the next period

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.cpu_s - other.cpu_s,
            self.periods - other.periods,
            self.throttled - other.throttled,
            self.throttled_s - other.throttled_s,
        )

    def as_json(self, seconds: float | None = None) -> dict[str, float | int]:
        out: dict[str, float | int] = {
            "cpu_s": round(self.cpu_s, 2),
            "periods": self.periods,
            "throttled_periods": self.throttled,
            "throttled_s": round(self.throttled_s, 2),
        }
        if seconds:
            out["cores_used"] = round(self.cpu_s / seconds, 3)
        return out


def _process_cpu_s(pid: int) -> float:
    """utime + stime of a process (all its threads), 0 once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuGroup:
    def __init__(self, controller: CpuController, path: Path, percent: float) -> None:
        self.controller = controller
        self.path = path
        self.percent = percent
        self.pids: list[int] = []

    def add(self, pid: int) -> None:
        """Move a process (all its threads) into the group."""
        try:
            (self.path / "cgroup.procs").write_text(str(pid))
        except OSError as exc:
            raise QuotaError(f"could not move pid {pid} into {self.path}: {exc}") from None
        self.pids.append(pid)

    def usage(self) -> Usage:
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines() if line.strip())
        if self.controller.version == 2:
            return Usage(
                int(stat["usage_usec"]) / 1e6,
                int(stat["nr_periods"]),
                int(stat["nr_throttled"]),
                int(stat["throttled_usec"]) / 1e6,
            )
        # v1's cpu controller has no usage of its own (that is cpuacct): the processes' own counters.
        return Usage(
            sum(_process_cpu_s(p) for p in self.pids),
            int(stat["nr_periods"]),
            int(stat["nr_throttled"]),
            int(stat["throttled_time"]) / 1e9,
        )

    def remove(self) -> None:
        """Move whatever still runs in the group back to the root, then delete the group."""
        if not self.path.exists():
            return
        with contextlib.suppress(OSError):
            for pid in (self.path / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):  # it may have exited meanwhile
                    (self.controller.root / "cgroup.procs").write_text(pid)
        with contextlib.suppress(OSError):
            self.path.rmdir()


class CpuController:
    """The machine's writable cpu controller; groups made with `group()` go on `close()`."""

    def __init__(self, root: Path, version: int) -> None:
        self.root = root
        self.version = version
        self.tag = f"lpcfe-bench-{os.getpid()}-{secrets.token_hex(2)}"
        self.groups: list[CpuGroup] = []

    @classmethod
    def find(cls) -> CpuController:
        """v2 if /sys/fs/cgroup/cgroup.controllers lists cpu, else v1; QuotaError if neither is writable."""
        problems = []
        controllers = V2_ROOT / "cgroup.controllers"
        if controllers.exists():
            if "cpu" in controllers.read_text().split():
                found = cls(V2_ROOT, 2)
                try:
                    # Children of the root get cpu.max only once the root hands the controller down.
                    if "cpu" not in (V2_ROOT / "cgroup.subtree_control").read_text().split():
                        (V2_ROOT / "cgroup.subtree_control").write_text("+cpu")
                    found._probe()
                    return found
                except OSError as exc:
                    problems.append(f"cgroups v2 at {V2_ROOT} has cpu but is not writable ({exc})")
            else:
                problems.append(f"cgroups v2 at {V2_ROOT} does not list the cpu controller")
        if (V1_ROOT / "cpu.cfs_quota_us").exists():
            found = cls(V1_ROOT, 1)
            try:
                found._probe()
                return found
            except OSError as exc:
                problems.append(f"cgroups v1 cpu at {V1_ROOT} is not writable ({exc}; needs root)")
        else:
            problems.append(f"no cgroups v1 cpu controller at {V1_ROOT}")
        raise QuotaError("no writable cpu controller: " + "; ".join(problems))

    def _probe(self) -> None:
        probe = self.root / f"{self.tag}-probe"
        probe.mkdir()
        probe.rmdir()

    def group(self, name: str, percent: float) -> CpuGroup:
        """A new group allowed `percent` of one core (e.g. 25: 25 ms of every 100 ms)."""
        if not 0 < percent <= 100 * (os.cpu_count() or 1):
            raise QuotaError(f"a CPU quota of {percent} % is not between 0 and {100 * (os.cpu_count() or 1)}")
        path = self.root / f"{self.tag}-{name}"
        quota = round(PERIOD_US * percent / 100)
        try:
            path.mkdir()
        except OSError as exc:
            raise QuotaError(f"could not make the cgroup {path}: {exc}") from None
        group = CpuGroup(self, path, percent)
        self.groups.append(group)
        try:
            if self.version == 2:
                (path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            else:
                (path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (path / "cpu.cfs_quota_us").write_text(str(quota))
        except OSError as exc:
            raise QuotaError(f"could not set the quota of {path}: {exc}") from None
        return group

    def close(self) -> None:
        for group in reversed(self.groups):
            group.remove()
        self.groups.clear()

    def __enter__(self) -> CpuController:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def unavailable() -> str | None:
    """Why quotas cannot be set on this machine, or None when they can."""
    try:
        CpuController.find()
    except QuotaError as exc:
        return str(exc)
    return None
