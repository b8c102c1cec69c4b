"""Schedule importers: read a source completely, check it, and hand back one parsed schedule.

    schedule = load_schedule("samples/sample-conference.schedule")
    diff = apply_schedule(schedule)          # sessions.importers.apply

`load_schedule` raises `ImportFailed` listing every problem (file and line or JSON path) and
never touches the database; `apply_schedule` writes in one transaction.
"""

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from django.utils.translation import gettext as _

from sessions.importers.base import (
    FORMATS,
    ImportFailed,
    ParsedConference,
    ParsedSchedule,
    Problems,
    Where,
)
from sessions.importers.flatfiles import parse_rooms, parse_tracks
from sessions.importers.frab import parse_frab
from sessions.importers.indico import parse_indico
from sessions.importers.local import parse_local
from sessions.importers.resolve import resolve
from sessions.importers.sources import Fetched, SourceError, display_name, read_source, relative_to
from sessions.importers.times import TimeProblem, iana_zone

__all__ = [
    "FORMATS",
    "ImportFailed",
    "ParsedSchedule",
    "detect_format",
    "load_schedule",
    "shift_to_now",
    "shift_to_today",
]


def detect_format(data: bytes, location: str) -> tuple[str | None, str]:
    """The source's format from its content (and name), or (None, why not)."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    suffix = Path(location.split("?", 1)[0]).suffix.lower()
    if head.startswith(b"<"):
        return "frab-xml", ""
    if head[:15].upper().startswith(b"BEGIN:VCALENDAR"):
        return None, _(
            "this is an iCalendar file, which carries no rooms or tracks to import; use the schedule it was "
            "made from (Indico timetable export, frab/pretalx schedule.json or .xml, or a local schedule file)"
        )
    if head.startswith((b"{", b"[")):
        try:
            document = json.loads(head.decode("utf-8", errors="replace"))
        except json.JSONDecodeError:
            # Let the parser matching the name report the syntax error with its line.
            return ("frab-json" if "schedule" in location.lower() and suffix == ".json" else "indico"), ""
        if isinstance(document, dict):
            if isinstance(document.get("results"), dict):
                return "indico", ""
            if isinstance(document.get("results"), list):
                return None, _(
                    "this is an Indico event export (/export/event/…); use the timetable export "
                    "(/export/timetable/<event id>.json), which has the rooms, breaks and blocks"
                )
            if isinstance(document.get("schedule"), dict):
                return "frab-json", ""
            if "talks" in document and "rooms" in document:
                return None, _(
                    "this is a pretalx widget schedule (widget/v2.json); use pretalx's frab-compatible "
                    "export instead: /<event>/schedule/export/schedule.json"
                )
            keys = ", ".join(sorted(document)[:8])
        else:
            keys = type(document).__name__
        return None, _(
            "JSON that is neither an Indico timetable export ('results') nor a frab schedule "
            "('schedule'); top level: %(keys)s"
        ) % {"keys": keys}
    return "local", ""


def load_schedule(
    location: str,
    *,
    fmt: str | None = None,
    tracks: str | None = None,
    rooms: str | None = None,
    timezone: str | None = None,
    base_url: str = "",
    fetched: Fetched | None = None,
    allow_overlaps: bool = False,
) -> ParsedSchedule:
    """Read and check a whole schedule; raise ImportFailed with every problem found.

    `tracks`/`rooms` name lpcfe tracks/rooms files (paths or URLs); a local schedule file may
    name them in its header instead. `fetched` is the source already read (periodic mode).
    `allow_overlaps` turns two sessions at once in one room from an error into a warning.
    """
    problems = Problems()
    try:
        main = fetched or read_source(location)
    except SourceError as e:
        problems.error(Where(e.display), e.reason)
        raise ImportFailed(problems) from None
    assert main is not None  # read_source returns None only for conditional requests

    if fmt is None:
        fmt, why = detect_format(main.data, location)
        if fmt is None:
            problems.error(Where(main.display), why)
            raise ImportFailed(problems)
    elif fmt not in FORMATS:
        problems.error(Where(main.display), _("unknown format %(fmt)r") % {"fmt": fmt})
        raise ImportFailed(problems)

    conference = ParsedConference()
    sessions, implied_tracks = [], []
    tracks_where = rooms_where = None
    if fmt == "local":
        local = parse_local(main.data, main.display, problems)
        conference, sessions = local.conference, local.sessions
        base_url = base_url or local.base_url
        if local.tracks_file and not tracks:
            tracks, tracks_where = relative_to(location, local.tracks_file[0]), local.tracks_file[1]
        if local.rooms_file and not rooms:
            rooms, rooms_where = relative_to(location, local.rooms_file[0]), local.rooms_file[1]
    elif fmt == "indico":
        conference, sessions, implied_tracks = parse_indico(
            main.data, main.display, problems, base_url=base_url or main.base_url
        )
    else:
        conference, sessions = parse_frab(
            main.data, main.display, problems, "xml" if fmt == "frab-xml" else "json", timezone=timezone
        )

    schedule = ParsedSchedule(
        source=main.display, format=fmt, conference=conference, sessions=sessions, tracks=implied_tracks
    )
    tracks_complete = rooms_complete = True
    if tracks:
        before = len(problems.errors)
        data = _read_listed(tracks, tracks_where, problems, "tracks")
        if data is not None:
            schedule.tracks = parse_tracks(data, _source_name(tracks), problems)
            schedule.tracks_declared = True
            # Indico gives block colours; a tracks file is the organiser's word and wins.
        tracks_complete = len(problems.errors) == before
    if rooms:
        before = len(problems.errors)
        data = _read_listed(rooms, rooms_where, problems, "rooms")
        if data is not None:
            schedule.rooms = parse_rooms(data, _source_name(rooms), problems)
            schedule.rooms_declared = True
        rooms_complete = len(problems.errors) == before
    if fmt == "local" and not rooms:
        problems.error(
            Where(main.display, line=1),
            _("a local schedule needs a rooms file: add a header line 'rooms: FILE' or give --rooms"),
        )
    if fmt == "local" and not tracks and any(s.track for s in sessions):
        problems.error(
            Where(main.display, line=1),
            _("sessions name tracks but no tracks file is given: add a header line 'tracks: FILE' or give --tracks"),
        )

    if timezone:
        try:
            iana_zone(timezone)
            conference.timezone = timezone
        except TimeProblem as e:
            problems.error(Where("--timezone"), str(e))
    try:
        tz = iana_zone(conference.timezone or "UTC")
    except TimeProblem:
        tz = UTC  # reported where the zone is named
    resolve(
        schedule,
        problems,
        tz,
        rooms_file=_source_name(rooms) if rooms else "",
        tracks_file=_source_name(tracks) if tracks else "",
        rooms_complete=rooms_complete and schedule.rooms_declared,
        tracks_complete=tracks_complete and schedule.tracks_declared,
        allow_overlaps=allow_overlaps,
    )
    if not problems.failed and not schedule.sessions:
        # Importing nothing would cancel every session; a source that yields none is a mistake
        # (an unreadable layout, the wrong file), never a schedule.
        problems.error(
            Where(main.display),
            _("no sessions were found in this %(fmt)s source, so nothing was imported") % {"fmt": fmt},
        )
    if problems.failed:
        raise ImportFailed(problems)
    schedule.warnings = problems.warnings
    return schedule


def _source_name(location: str) -> str:
    return display_name(location)


def _read_listed(location: str, where: Where | None, problems: Problems, kind: str) -> bytes | None:
    """Read a tracks/rooms file; `where` is the header line that names it, if one does."""
    try:
        fetched = read_source(location)
    except SourceError as e:
        if where is not None:
            problems.error(
                where,
                _("%(kind)s file %(name)r: %(reason)s (looked for %(path)s)")
                % {"kind": kind, "name": Path(location).name, "reason": e.reason, "path": e.display},
            )
        else:
            problems.error(Where(e.display), e.reason)
        return None
    return fetched.data if fetched else None


def shift_to_today(schedule: ParsedSchedule, today: date) -> int:
    """Move the whole schedule by whole days so its first day is `today`, keeping each session's
    wall-clock time in the conference's zone (09:00 stays 09:00 across a DST change).
    Returns the number of days moved."""
    tz = iana_zone(schedule.conference.timezone or "UTC")
    first = schedule.conference.start_date or min(
        (s.start.astimezone(tz).date() for s in schedule.sessions), default=today
    )
    days = (today - first).days
    if not days:
        return 0
    delta = timedelta(days=days)
    for s in schedule.sessions:
        for attr in ("start", "end"):
            local = getattr(s, attr).astimezone(tz)
            moved = datetime.combine(local.date() + delta, local.time()).replace(tzinfo=tz, fold=local.fold)
            setattr(s, attr, moved.astimezone(UTC))
    conf = schedule.conference
    conf.start_date = conf.start_date + delta if conf.start_date else None
    conf.end_date = conf.end_date + delta if conf.end_date else None
    return days


def shift_to_now(schedule: ParsedSchedule, now: datetime, anchor: time) -> timedelta:
    """Move the whole schedule so that wall-clock time `anchor` on its first day (in the
    conference's zone) is `now`, to the five minutes: a demo is live whenever it starts.
    Returns how far it moved."""
    tz = iana_zone(schedule.conference.timezone or "UTC")
    if not schedule.sessions:
        return timedelta(0)
    first = schedule.conference.start_date or min(s.start.astimezone(tz).date() for s in schedule.sessions)
    target = now.astimezone(UTC).replace(second=0, microsecond=0)
    target -= timedelta(minutes=target.minute % 5)
    # In UTC: the sessions keep their lengths and spacing across any DST change.
    delta = target - datetime.combine(first, anchor, tzinfo=tz).astimezone(UTC)
    for s in schedule.sessions:
        s.start, s.end = s.start.astimezone(UTC) + delta, s.end.astimezone(UTC) + delta
    conf = schedule.conference
    local_days = [s.start.astimezone(tz).date() for s in schedule.sessions]
    conf.start_date = min(local_days) if conf.start_date else None
    conf.end_date = max(local_days) if conf.end_date else None
    return delta
