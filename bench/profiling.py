"""Where the time goes during one scenario: cProfile inside the front end's workers, and
Synapse's own per-request accounting (its access log records wall time, CPU and database
time of every request).
"""

from __future__ import annotations

import io
import logging
import pstats
import re
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger("bench")

# Processed request: 0.064sec/0.000sec ru=(0.009sec, 0.000sec) db=(0.014sec/0.020sec/12) 152B 200 "POST /path ..."
_ACCESS = re.compile(
    r"Processed request: (?P<wall>[\d.]+)sec/(?P<send>-?[\d.]+)sec (?:ru=)?\((?P<utime>[\d.]+)sec, "
    r"(?P<stime>[\d.]+)sec\) (?:db=)?\((?P<dbsched>[\d.]+)sec/(?P<dbtxn>[\d.]+)sec/(?P<dbcount>\d+)\) "
    r'(?P<bytes>\d+)B (?P<status>\d+)\S* "(?P<method>\S+) (?P<path>\S+)'
)
_ID_PARTS = re.compile(r"/(?:[!@#$][^/?]*|%21[^/?]*|%40[^/?]*|%23[^/?]*|bench[0-9a-f]+n\d+|[A-Za-z0-9_-]{20,})")


def endpoint(path: str) -> str:
    """A request path with its query and IDs taken out, so requests group by endpoint."""
    return _ID_PARTS.sub("/{id}", path.split("?", 1)[0])


@dataclass
class Endpoint:
    count: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    db: float = 0.0
    bytes: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


def summarise_synapse_log(text: str, top: int = 25) -> str:
    table: dict[str, Endpoint] = {}
    for line in text.splitlines():
        found = _ACCESS.search(line)
        if not found:
            continue
        key = f"{found['method']} {endpoint(found['path'])}"
        entry = table.setdefault(key, Endpoint())
        entry.count += 1
        entry.wall += float(found["wall"])
        entry.cpu += float(found["utime"]) + float(found["stime"])
        entry.db += float(found["dbtxn"])
        entry.bytes += int(found["bytes"])
        entry.statuses[found["status"]] = entry.statuses.get(found["status"], 0) + 1
    total_cpu = sum(e.cpu for e in table.values()) or 1e-9
    lines = [
        f"Synapse requests: {sum(e.count for e in table.values())}, CPU {total_cpu:.1f} s "
        "(as Synapse accounts it per request)",
        f"{'endpoint':60} {'count':>7} {'cpu s':>8} {'cpu%':>5} {'ms/req':>7} {'db s':>7} {'wall s':>8} {'KB/req':>7}",
    ]
    for key, e in sorted(table.items(), key=lambda kv: -kv[1].cpu)[:top]:
        lines.append(
            f"{key[:60]:60} {e.count:7d} {e.cpu:8.1f} {100 * e.cpu / total_cpu:5.1f} {1000 * e.cpu / e.count:7.1f} "
            f"{e.db:7.1f} {e.wall:8.1f} {e.bytes / e.count / 1024:7.1f}  {e.statuses}"
        )
    return "\n".join(lines) + "\n"


def sync_costs(text: str) -> dict[str, float | int]:
    """The /sync responses in a Synapse log and the CPU Synapse accounted to them (ru_utime +
    ru_stime per request): what one more attendee in a busy room costs a sync worker."""
    count, cpu, size = 0, 0.0, 0
    for line in text.splitlines():
        found = _ACCESS.search(line)
        if found and endpoint(found["path"]).endswith("/sync"):
            count += 1
            cpu += float(found["utime"]) + float(found["stime"])
            size += int(found["bytes"])
    return {
        "syncs": count,
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_sync": round(1000 * cpu / count, 2) if count else None,
        "bytes_per_sync": round(size / count) if count else None,
    }


def summarise_pstats(folder: Path, top: int = 45) -> str:
    files = sorted(folder.glob("worker-*.prof"))
    if not files:
        return "no profile was written (no profiled request reached the front end?)\n"
    stats = pstats.Stats(str(files[0]))
    for extra in files[1:]:
        stats.add(str(extra))
    out = io.StringIO()
    stats.stream = out
    stats.strip_dirs()
    out.write(f"front end, {len(files)} worker(s): by cumulative time\n")
    stats.sort_stats("cumulative").print_stats(top)
    out.write("\nby own time\n")
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


class Profiler:
    """Switches profiling on for one scenario and writes the summaries next to the results."""

    def __init__(self, target: str, scenario: str, out_dir: Path, stack) -> None:
        self.target = target  # "frontend", "synapse" or "none"
        self.scenario = scenario
        self.out_dir = out_dir
        self.stack = stack
        self._offset = 0

    @property
    def profile_dir(self) -> Path:
        return self.stack.root / "profile"

    def start(self, scenario: str) -> None:
        if scenario != self.scenario or self.target == "none":
            return
        if self.target == "frontend":
            (self.profile_dir / "on").touch()
        elif self.target == "synapse":
            log = self.stack.synapse.log_path
            self._offset = log.stat().st_size if log.exists() else 0
        logger.info("Profiling the %s during %s", self.target, scenario)

    def finish(self, scenario: str) -> None:
        if scenario != self.scenario or self.target == "none":
            return
        if self.target == "frontend":
            (self.profile_dir / "on").unlink(missing_ok=True)
        elif self.target == "synapse":
            with self.stack.synapse.log_path.open("rb") as stream:
                stream.seek(self._offset)
                text = stream.read().decode("utf-8", errors="replace")
            self._write(summarise_synapse_log(text))

    def after_stop(self) -> None:
        """Workers write their last stats when they exit: summarise once the front end is stopped."""
        if self.target == "frontend" and self.profile_dir.exists():
            self._write(summarise_pstats(self.profile_dir))

    def _write(self, text: str) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"profile-{self.target}-{self.scenario}.txt"
        path.write_text(text)
        logger.info("Profile summary: %s", path)
