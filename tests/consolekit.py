"""The organisers' console tests' world: the local source files in a temporary folder (from
tests/data/console, dated today), SCHEDULE_SOURCE pointing at them, and people by role."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from django.core.management import call_command

DATA = Path(__file__).parent / "data" / "console"


def zone_at_eleven(now: datetime | None = None) -> str:
    """An IANA zone in which it is 11:xx now, so every session of the test day is today."""
    hour = (now or datetime.now(UTC)).astimezone(UTC).hour
    offset = 11 - hour  # -12 .. 11
    if offset == 0:
        return "UTC"
    # POSIX-style names: Etc/GMT-3 is three hours east of UTC.
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


class Sources:
    def __init__(self, folder: Path) -> None:
        from zoneinfo import ZoneInfo

        self.folder = folder
        self.zone = zone_at_eleven()
        self.today = datetime.now(ZoneInfo(self.zone)).date()
        text = (DATA / "schedule").read_text().format(zone=self.zone, day=self.today.isoformat())
        (folder / "schedule").write_text(text)
        for name in ("tracks", "rooms"):
            (folder / name).write_text((DATA / name).read_text())

    @property
    def schedule(self) -> Path:
        return self.folder / "schedule"

    def text(self, role: str) -> str:
        return (self.folder / role).read_text()

    def import_(self) -> str:
        out = io.StringIO()
        call_command("import_schedule", str(self.schedule), stdout=out, stderr=io.StringIO(), verbosity=1)
        return out.getvalue()
