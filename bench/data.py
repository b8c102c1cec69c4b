"""The bench's conference: attendees (the registration export) and a schedule running right now.

The files are written in the formats organisers use, so the bench loads them with the same
commands (`import_attendees`, `import_schedule`) as a real event.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

MAIN_ROOM = "Main hall"
EMAIL_DOMAIN = "bench.example.org"


@dataclass(frozen=True)
class Attendee:
    number: int
    first_name: str
    last_name: str
    email: str
    regcode: str


def make_attendees(count: int) -> list[Attendee]:
    """`count` distinct attendees with random registration codes."""
    width = max(4, len(str(count)))
    return [
        Attendee(
            number=i,
            first_name="Bench",
            last_name=f"Attendee {i:0{width}d}",
            email=f"attendee{i:0{width}d}@{EMAIL_DOMAIN}",
            regcode=secrets.token_hex(6).upper(),
        )
        for i in range(1, count + 1)
    ]


def write_attendees(path: Path, attendees: list[Attendee]) -> Path:
    """The registration system's tab-separated export: first, last, regcode, email, role."""
    lines = ["first name\tlast name\tregcode\temail\trole"]
    lines += [f"{a.first_name}\t{a.last_name}\t{a.regcode}\t{a.email}\tattendee" for a in attendees]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def track_name(i: int) -> str:
    return f"Track {i:02d}"


def room_name(i: int) -> str:
    return MAIN_ROOM if i == 1 else f"Room {i:02d}"


def write_schedule(folder: Path, tracks: int, now: datetime | None = None) -> Path:
    """A local schedule file (with its rooms and tracks files) whose sessions run now.

    Every track has its own room and chat room; track 1 is in the main hall, where the join and
    chat storms happen. Sessions started 20 minutes ago and run for four hours (times past
    midnight are written as 24:xx, as the format allows).
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    start = (now - timedelta(minutes=20)).replace(second=0, microsecond=0)
    day = start.date()
    begin = start.hour * 60 + start.minute
    end = begin + 4 * 60

    def hhmm(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    rooms = ["# Rooms of the benchmark conference: room:bbb_server:type[:matrix_room[:key=value...]]"]
    tracks_lines = ["# Tracks of the benchmark conference: track:colour[:matrix_room[:extra]]"]
    sessions = []
    for i in range(1, tracks + 1):
        rooms.append(f"{room_name(i)}::session::capacity=100000")
        tracks_lines.append(f"{track_name(i)}:#{(0x40 + i * 7) % 256:02x}d0e0:bench-track-{i:02d}")
        sessions.append(
            f"{hhmm(begin)}-{hhmm(end)} | {room_name(i)} | {track_name(i)} | "
            f"Session {i:02d} under load | Bench Speaker {i:02d} <speaker{i:02d}@{EMAIL_DOMAIN}>"
        )
        sessions.append(f"    id: bench-session-{i:02d}")
    (folder / "rooms").write_text("\n".join(rooms) + "\n", encoding="utf-8")
    (folder / "tracks").write_text("\n".join(tracks_lines) + "\n", encoding="utf-8")
    schedule = [
        "# The benchmark conference: every track has one session, running now.",
        "conference: Bench Conference",
        "timezone:   UTC",
        "rooms:      rooms",
        "tracks:     tracks",
        "",
        f"day {day.isoformat()}",
        "",
        *sessions,
    ]
    path = folder / "bench.schedule"
    path.write_text("\n".join(schedule) + "\n", encoding="utf-8")
    return path
