"""Figures for one benchmark run: latency samples per scenario, the targets, the text table and the JSON file.

Nothing here talks to a server, so the formatting can be checked on its own.
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def percentile(samples: list[float], pct: float) -> float | None:
    """The nearest-rank percentile (pct in 0..100) of `samples`; None when there are none."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Target:
    """One pass/fail line of the issue's targets, e.g. p95 < 0.3 s."""

    name: str
    limit: str  # human text, e.g. "< 300 ms"
    value: str  # what was measured, human text
    met: bool | None  # None: could not be judged (scenario skipped or incomplete)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "limit": self.limit, "value": self.value, "met": self.met}


@dataclass
class Scenario:
    """What one scenario measured. Latencies are seconds per completed flow."""

    name: str
    title: str
    planned: int = 0
    latencies: list[float] = field(default_factory=list)
    done_at: list[float] = field(default_factory=list)  # seconds after the start when each flow finished
    errors: Counter = field(default_factory=Counter)
    started_at: float = 0.0
    finished_at: float = 0.0
    skipped: str = ""  # why the scenario could not run, if it did not
    timed_out: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def elapsed(self) -> float:
        return max(0.0, self.finished_at - self.started_at)

    @property
    def throughput(self) -> float:
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0

    def pct(self, p: float) -> float | None:
        return percentile(self.latencies, p)

    def error(self, kind: str) -> None:
        self.errors[kind[:160]] += 1

    def target(self, name: str, limit: str, value: str, met: bool | None) -> None:
        self.targets.append(Target(name, limit, value, met))

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "skipped": self.skipped or None,
            "planned": self.planned,
            "completed": self.completed,
            "errors": self.error_count,
            "error_kinds": dict(self.errors.most_common(20)),
            "timed_out": self.timed_out,
            "elapsed_s": round(self.elapsed, 3),
            "throughput_per_s": round(self.throughput, 2),
            "latency_s": {
                "p50": _round(self.pct(50)),
                "p95": _round(self.pct(95)),
                "p99": _round(self.pct(99)),
                "max": _round(max(self.latencies) if self.latencies else None),
            },
            "extra": self.extra,
            "targets": [t.as_json() for t in self.targets],
        }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def ms(value: float | None) -> str:
    """Seconds as a short human figure: 12 ms, 1.42 s, 95 s; '-' for none."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 100:
        return f"{value:.2f} s"
    return f"{value:.0f} s"


def _columns(header: tuple[str, ...], rows: list[tuple[str, ...]], text_columns: int) -> list[str]:
    """Header, a rule and the rows, each column as wide as its widest cell: the first
    `text_columns` aligned left, the figures after them right."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        left = [c.ljust(w) for c, w in zip(cells[:text_columns], widths[:text_columns], strict=True)]
        right = [c.rjust(w) for c, w in zip(cells[text_columns:], widths[text_columns:], strict=True)]
        return "  ".join(left + right).rstrip()

    return [line(header), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)]


def format_table(
    scenarios: list[Scenario],
    ratio: dict[str, Any] | None = None,
    *,
    plan: list[str] | None = None,
    failure: str | None = None,
) -> str:
    """The short text table printed at the end and pasted into the README: the scenarios that
    finished, what the run brought besides them (`plan`) and, last, where a failed run stopped."""
    header = ("scenario", "done", "errors", "time", "per s", "p50", "p95", "p99")
    rows: list[tuple[str, ...]] = []
    for s in scenarios:
        if s.skipped:
            rows.append((s.title, "skipped", "", "", "", "", "", ""))
            continue
        done = f"{s.completed}/{s.planned}" + (" (time limit)" if s.timed_out else "")
        rows.append(
            (
                s.title,
                done,
                str(s.error_count),
                ms(s.elapsed),
                f"{s.throughput:.1f}",
                ms(s.pct(50)),
                ms(s.pct(95)),
                ms(s.pct(99)),
            )
        )
    out = _columns(header, rows, text_columns=1)

    notes = []
    for s in scenarios:
        for key, label in (
            ("hs_requests_per_client", "homeserver requests/client"),
            ("hs_bytes_per_client", "homeserver bytes/client"),
            ("fe_requests_per_client", "front-end requests/client"),
            ("fe_bytes_per_client", "front-end bytes/client"),
            ("bbb_creates", "BBB creates"),
            ("messages_sent", "messages sent"),
            ("deliveries_missing", "deliveries missing"),
        ):
            if key in s.extra and s.extra[key] is not None:
                value = s.extra[key]
                shown = f"{value:,.0f}" if isinstance(value, int | float) and value >= 1000 else f"{value}"
                notes.append(f"{s.title}: {label} {shown}")
    if ratio:
        notes.append(
            "Chat open, all at once, vs seed flow: ours {ours}, seed flow {base}: {text}".format(
                ours=ms(ratio.get("ours_s")), base=ms(ratio.get("baseline_s")), text=ratio.get("text", "")
            )
        )
    if notes:
        out.append("")
        out.extend(notes)

    verdicts = [(s, t) for s in scenarios for t in s.targets]
    if verdicts:
        out.append("")
        out.append("targets:")
        for s, t in verdicts:
            mark = {True: "met", False: "MISSED", None: "n/a"}[t.met]
            out.append(f"  [{mark}] {s.title}: {t.name} {t.limit} (measured {t.value})")
    if plan:
        out.append("")
        out.append("besides the scenarios:")
        out.extend(f"  {line}" for line in plan)
    if failure:
        out.append("")
        out.append(failure + (" (the figures above are from the scenarios that finished before)" if scenarios else ""))
    return "\n".join(out)


def format_comparison(runs: list[tuple[str, list[Scenario]]]) -> str:
    """The same scenarios of several runs (one per topology), a line per run under each scenario, so
    that the figures to compare sit one above the other."""
    header = ("scenario", "run", "done", "errors", "time", "p50", "p95", "p99", "targets")
    titles = list(dict.fromkeys(s.title for _, scenarios in runs for s in scenarios))
    rows: list[tuple[str, ...]] = []
    for title in titles:
        for index, (label, scenarios) in enumerate(runs):
            first = title if index == 0 else ""
            found = next((s for s in scenarios if s.title == title), None)
            if found is None or found.skipped:
                rows.append((first, label, "skipped" if found else "not run", "", "", "", "", "", ""))
                continue
            judged = [t for t in found.targets if t.met is not None]
            met = sum(1 for t in judged if t.met)
            rows.append(
                (
                    first,
                    label,
                    f"{found.completed}/{found.planned}" + (" (time limit)" if found.timed_out else ""),
                    str(found.error_count),
                    ms(found.elapsed),
                    ms(found.pct(50)),
                    ms(found.pct(95)),
                    ms(found.pct(99)),
                    f"{met}/{len(judged)} met" if judged else "",
                )
            )
    out = _columns(header, rows, text_columns=2)
    missed = [(label, s, t) for label, scenarios in runs for s in scenarios for t in s.targets if t.met is False]
    if missed:
        out.append("")
        out.append("targets missed:")
        out.extend(f"  {label}: {s.title}: {t.name} {t.limit} (measured {t.value})" for label, s, t in missed)
    return "\n".join(out)


def machine_facts(synapse_version: str = "", postgres_version: str = "") -> dict[str, Any]:
    """What the run ran on, for the README: cores, CPU model, RAM, software versions."""
    cpu = ""
    try:
        for text_line in Path("/proc/cpuinfo").read_text().splitlines():
            if text_line.startswith("model name"):
                cpu = text_line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = None
    try:
        for text_line in Path("/proc/meminfo").read_text().splitlines():
            if text_line.startswith("MemTotal:"):
                ram_gib = round(int(text_line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True, timeout=5).stdout.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        nproc = None
    return {
        "nproc": nproc,
        "cpu": cpu,
        "ram_gib": ram_gib,
        "python": platform.python_version(),
        "synapse": synapse_version,
        "postgresql": postgres_version,
        "os": platform.platform(),
    }


def format_machine(facts: dict[str, Any]) -> str:
    return (
        f"{facts.get('nproc')} cores ({facts.get('cpu') or 'unknown CPU'}), {facts.get('ram_gib')} GiB RAM; "
        f"Python {facts.get('python')}, Synapse {facts.get('synapse') or '?'}, "
        f"PostgreSQL {facts.get('postgresql') or '?'}"
    )


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
