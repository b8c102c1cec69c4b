"""Checks across a whole parsed schedule, before anything is written.

Ties each session to a room and a track (declared in the rooms/tracks files, or implied by the
source), places breaks that name no room, and rejects what the database must never hold:
unknown rooms or tracks, sessions that end before they start, two sessions in one room at once,
two sessions with one ID.
"""

import difflib
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, tzinfo

from django.utils.translation import gettext as _

from sessions.importers.base import (
    ParsedRoom,
    ParsedSchedule,
    ParsedSession,
    ParsedTrack,
    Problems,
    make_slug,
    short_hash,
)
from sessions.importers.richtext import abstract_text

MAX_LENGTHS = {"external_id": 200, "title": 500, "url": 500}


class _Index:
    """Finds a room or track by name, any-case name, slug, or the slug its name would make."""

    def __init__(self, items: list[ParsedRoom] | list[ParsedTrack]) -> None:
        self.items = list(items)
        self.by_key: dict[str, ParsedRoom | ParsedTrack] = {}
        used: dict[str, int] = defaultdict(int)
        for item in self.items:
            used[make_slug(item.name)] += 1
        for item in self.items:
            self._assign_slug(item, used)
            self._add(item)

    def _assign_slug(self, item, used: dict[str, int]) -> None:
        slug = make_slug(item.name)
        if used[slug] > 1:
            # Two names, one slug: both get a suffix that depends only on their own name, so
            # slugs stay stable from one import to the next.
            slug = make_slug(item.name, 93) + "-" + short_hash(item.name)
        item.slug = slug

    def _add(self, item) -> None:
        for key in (item.name, item.name.casefold(), item.slug):
            self.by_key.setdefault(key, item)

    def find(self, ref: str):
        for key in (ref, ref.casefold(), ref.strip().casefold(), make_slug(ref)):
            if key in self.by_key:
                return self.by_key[key]
        return None

    def add_implied(self, item) -> None:
        slug = make_slug(item.name)
        if any(other.slug == slug for other in self.items):
            slug = make_slug(item.name, 93) + "-" + short_hash(item.name)
        item.slug = slug
        self.items.append(item)
        self._add(item)

    def suggestion(self, ref: str) -> str:
        names = [i.name for i in self.items]
        close = difflib.get_close_matches(ref, names, n=1, cutoff=0.6)
        return close[0] if close else ""


def _hhmm(dt: datetime, tz: tzinfo) -> str:
    return dt.astimezone(tz).strftime("%a %d %b %H:%M")


def resolve(
    schedule: ParsedSchedule,
    problems: Problems,
    tz: tzinfo,
    rooms_file: str = "",
    tracks_file: str = "",
    rooms_complete: bool = True,
    tracks_complete: bool = True,
    allow_overlaps: bool = False,
) -> None:
    """Check the schedule as a whole. Runs even when some lines failed to parse, on the rest, so
    one run reports everything; `rooms_complete`/`tracks_complete` say whether the rooms/tracks
    files parsed cleanly (if not, a missing name may be on a broken line and is not reported)."""
    rooms = _Index(schedule.rooms)
    tracks = _Index(schedule.tracks)
    unresolved: set[int] = set()  # id() of sessions whose room or track is unknown

    unknown: dict[tuple[str, str], list[ParsedSession]] = defaultdict(list)
    for s in schedule.sessions:
        s.abstract = abstract_text(s.abstract)
        for attr, limit in MAX_LENGTHS.items():
            if len(getattr(s, attr)) > limit:
                problems.error(
                    s.where, _("the %(field)s is longer than %(n)d characters") % {"field": attr, "n": limit}
                )
        if s.room is not None:
            room = rooms.find(s.room)
            if room is None and schedule.rooms_declared:
                unresolved.add(id(s))
                if rooms_complete:
                    unknown[("room", s.room)].append(s)
            else:
                if room is None:
                    room = ParsedRoom(name=s.room, where=s.where)
                    rooms.add_implied(room)
                s.room = room.name
                s.room_slug = room.slug
        if s.track is not None:
            track = tracks.find(s.track)
            if track is None and schedule.tracks_declared:
                unresolved.add(id(s))
                if tracks_complete:
                    unknown[("track", s.track)].append(s)
            else:
                if track is None:
                    track = ParsedTrack(name=s.track, where=s.where)
                    tracks.add_implied(track)
                s.track_slug = track.slug
        if s.end <= s.start:
            problems.error(
                s.where,
                _("%(title)r ends (%(end)s) before it starts (%(start)s)")
                % {"title": s.title, "end": _hhmm(s.end, tz), "start": _hhmm(s.start, tz)},
            )
    # One message per unknown name, at its first use, so a renamed room does not bury the rest.
    for (kind, name), users in unknown.items():
        if kind == "room":
            message = _("unknown room %(name)r: it is not in the rooms file %(file)s") % {
                "name": name,
                "file": rooms_file,
            }
            hint = rooms.suggestion(name)
        else:
            message = _("unknown track %(name)r: it is not in the tracks file %(file)s") % {
                "name": name,
                "file": tracks_file,
            }
            hint = tracks.suggestion(name)
        if hint:
            message += " " + _("(did you mean %(hint)r?)") % {"hint": hint}
        if len(users) > 1:
            message += " " + _("(also used by %(n)d more sessions)") % {"n": len(users) - 1}
        problems.error(users[0].where, message)
    schedule.rooms = rooms.items
    schedule.tracks = tracks.items
    schedule.sessions = [s for s in schedule.sessions if id(s) not in unresolved and s.end > s.start]
    schedule.sessions = _place_breaks(schedule, problems, tz)
    _check_duplicates(schedule.sessions, problems)
    _check_overlaps(schedule.sessions, problems, tz, allow_overlaps)


def _place_breaks(schedule: ParsedSchedule, problems: Problems, tz: tzinfo) -> list[ParsedSession]:
    """A break without a room goes into each room in use around it that day (whose first session
    starts no later than the break ends and whose last ends no earlier than it starts); failing
    that, every room with sessions that day; never into a room where it would overlap a session."""
    placed = [s for s in schedule.sessions if s.room is not None]
    by_day: dict[tuple, list[ParsedSession]] = defaultdict(list)
    busy: dict[str, list[ParsedSession]] = defaultdict(list)
    for s in placed:
        busy[s.room_slug].append(s)
        if not s.is_break:
            by_day[(s.start.astimezone(tz).date(), s.room_slug)].append(s)
    names = {r.slug: r.name for r in schedule.rooms}
    order = [r.slug for r in schedule.rooms]
    out = list(placed)
    for brk in (s for s in schedule.sessions if s.room is None):
        day = brk.start.astimezone(tz).date()
        day_rooms = [slug for slug in order if by_day.get((day, slug))]
        in_use = [
            slug
            for slug in day_rooms
            if min(t.start for t in by_day[(day, slug)]) <= brk.end
            and max(t.end for t in by_day[(day, slug)]) >= brk.start
        ]
        candidates = in_use or day_rooms or order
        free = [slug for slug in candidates if not any(t.start < brk.end and brk.start < t.end for t in busy[slug])]
        if not free:
            problems.warn(
                brk.where,
                _("break %(title)r at %(time)s names no room and every room is busy then; it is left out")
                % {"title": brk.title, "time": _hhmm(brk.start, tz)},
            )
            continue
        for slug in free:
            out.append(replace(brk, room=names[slug], room_slug=slug, external_id=f"{brk.external_id}@{slug}"))
    return out


def _check_duplicates(sessions: list[ParsedSession], problems: Problems) -> None:
    seen: dict[str, ParsedSession] = {}
    for s in sessions:
        other = seen.get(s.external_id)
        if other is not None:
            problems.error(
                s.where,
                _("duplicate session ID %(id)r: %(title)r and %(other)r (%(where)s) have the same ID")
                % {"id": s.external_id, "title": s.title, "other": other.title, "where": other.where},
            )
        else:
            seen[s.external_id] = s


def _check_overlaps(sessions: list[ParsedSession], problems: Problems, tz: tzinfo, allowed: bool) -> None:
    report = problems.warn if allowed else problems.error
    by_room: dict[str, list[ParsedSession]] = defaultdict(list)
    for s in sessions:
        by_room[s.room_slug].append(s)
    for room_sessions in by_room.values():
        room_sessions.sort(key=lambda s: (s.start, s.end))
        latest: ParsedSession | None = None
        for s in room_sessions:
            if latest is not None and s.start < latest.end:
                report(
                    s.where,
                    (
                        _(
                            "%(title)r (%(start)s-%(end)s) overlaps %(other)r (%(ostart)s-%(oend)s, %(where)s) "
                            "in room %(room)r; both are imported and shown side by side"
                        )
                        if allowed
                        else _(
                            "%(title)r (%(start)s-%(end)s) overlaps %(other)r (%(ostart)s-%(oend)s, %(where)s) "
                            "in room %(room)r (to import overlapping sessions anyway, give --allow-overlaps or tick "
                            '"Allow overlapping sessions" in the console)'
                        )
                    )
                    % {
                        "title": s.title,
                        "start": _hhmm(s.start, tz),
                        "end": s.end.astimezone(tz).strftime("%H:%M"),
                        "other": latest.title,
                        "ostart": _hhmm(latest.start, tz),
                        "oend": latest.end.astimezone(tz).strftime("%H:%M"),
                        "where": latest.where,
                        "room": s.room,
                    },
                )
            if latest is None or s.end > latest.end:
                latest = s
