"""Helpers for the schedule-import tests: where the real samples are (tests/data), running the command, and
a snapshot of everything an import may touch (to prove a failed import changed nothing)."""

import io
from pathlib import Path

from django.core.management import CommandError, call_command

from sessions.models import Conference, Room, Talk, Track

REPO = Path(__file__).resolve().parents[1]
# Real published schedules, kept with the tests (their sources: tests/data/README.md).
SAMPLES = REPO / "tests" / "data"
BUNDLED = REPO / "samples" / "sample-conference.schedule"


def run_import(*args: str, **options) -> tuple[int, str, str]:
    """`manage.py import_schedule ARGS`; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_schedule", *args, stdout=out, stderr=err, **options)
    except CommandError as e:
        err.write(f"CommandError: {e}\n")
        return 1, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def snapshot() -> dict:
    """Everything an import writes, in comparable form."""
    return {
        "conference": list(Conference.objects.values_list("name", "timezone", "start_date", "end_date", "source")),
        "tracks": sorted(Track.objects.values_list("slug", "name", "colour", "matrix_room", "extra")),
        "rooms": sorted(
            (r.slug, r.name, r.kind, r.bbb_server, r.matrix_room, tuple(r.moderator_emails), r.capacity, r.position)
            for r in Room.objects.all()
        ),
        "talks": sorted(
            (
                t.external_id,
                t.title,
                t.start,
                t.end,
                t.room.slug,
                t.track.slug if t.track else None,
                tuple(t.speaker_names),
                tuple(t.speaker_emails),
                t.abstract,
                t.url,
                t.is_break,
                t.sequence,
            )
            for t in Talk.objects.select_related("room", "track")
        ),
    }
