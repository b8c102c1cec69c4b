"""Writing a checked schedule to the database, in one transaction, and saying what changed.

Conference, tracks, rooms and sessions are upserted by stable keys (the conference singleton,
Track.slug, Room.slug, Talk.external_id). Sessions no longer in the source are deleted and
reported as cancelled. A session whose start, end or room changes gets its `sequence` bumped so
calendar clients replace their copy. Rooms and tracks are never deleted by an import (other
parts of lpcfe refer to them); ones the source no longer uses are listed so an organiser can
remove them in the admin.
"""

import logging
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from tqdm import tqdm

from sessions.importers.base import ParsedSchedule, ParsedSession, palette_colour
from sessions.models import Conference, Room, Talk, Track
from sessions.signals import schedule_changed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Slot:
    """Where and when a session is (or was)."""

    title: str
    start: datetime
    end: datetime
    room: str

    def describe(self, tz: tzinfo) -> str:
        start, end = self.start.astimezone(tz), self.end.astimezone(tz)
        return f"{start:%a %d %b %H:%M}-{end:%H:%M} {self.room}"


@dataclass
class ScheduleDiff:
    added: list[Slot] = field(default_factory=list)
    moved: list[tuple[Slot, Slot]] = field(default_factory=list)  # (before, after)
    retitled: list[tuple[Slot, Slot]] = field(default_factory=list)
    updated: list[Slot] = field(default_factory=list)  # speakers, abstract, URL, track or break flag
    cancelled: list[Slot] = field(default_factory=list)
    rooms_added: list[str] = field(default_factory=list)
    rooms_changed: list[str] = field(default_factory=list)
    rooms_unused: list[str] = field(default_factory=list)
    tracks_added: list[str] = field(default_factory=list)
    tracks_changed: list[str] = field(default_factory=list)
    tracks_unused: list[str] = field(default_factory=list)
    conference_changed: list[str] = field(default_factory=list)  # field names
    timezone: str = "UTC"

    @property
    def changed(self) -> bool:
        return any(
            (
                self.added,
                self.moved,
                self.retitled,
                self.updated,
                self.cancelled,
                self.rooms_added,
                self.rooms_changed,
                self.tracks_added,
                self.tracks_changed,
                self.conference_changed,
            )
        )

    def summary(self) -> str:
        if not self.changed:
            return _("no changes")
        parts = [
            (len(self.added), _("added")),
            (len(self.moved), _("moved")),
            (len(self.retitled), _("retitled")),
            (len(self.updated), _("updated")),
            (len(self.cancelled), _("cancelled")),
        ]
        text = ", ".join(f"{n} {label}" for n, label in parts if n) or _("no session changes")
        extra = []
        if self.rooms_added:
            extra.append(
                ngettext("%(n)d room added", "%(n)d rooms added", len(self.rooms_added)) % {"n": len(self.rooms_added)}
            )
        if self.tracks_added:
            extra.append(
                ngettext("%(n)d track added", "%(n)d tracks added", len(self.tracks_added))
                % {"n": len(self.tracks_added)}
            )
        return "; ".join([text, *extra])

    def lines(self, limit: int | None = 10) -> list[str]:
        """What changed, for people: one line per session (at most `limit` per kind)."""
        tz = zoneinfo.ZoneInfo(self.timezone)
        out: list[str] = []

        def section(heading: str, items: list, render) -> None:
            if not items:
                return
            out.append(heading)
            shown = items if limit is None else items[:limit]
            out.extend("  " + render(item) for item in shown)
            if len(items) > len(shown):
                out.append("  " + _("... and %(n)d more (use -v 2 to list all)") % {"n": len(items) - len(shown)})

        n = len(self.added)
        section(
            ngettext("Added %(n)d session:", "Added %(n)d sessions:", n) % {"n": n},
            self.added,
            lambda s: f"+ {s.describe(tz)}  {s.title}",
        )
        n = len(self.moved)
        section(
            ngettext("Moved %(n)d session:", "Moved %(n)d sessions:", n) % {"n": n},
            self.moved,
            lambda pair: f"> {pair[1].title}: {pair[0].describe(tz)} -> {pair[1].describe(tz)}",
        )
        n = len(self.retitled)
        section(
            ngettext("Retitled %(n)d session:", "Retitled %(n)d sessions:", n) % {"n": n},
            self.retitled,
            lambda pair: f"~ {pair[0].title!r} -> {pair[1].title!r} ({pair[1].describe(tz)})",
        )
        n = len(self.updated)
        section(
            ngettext(
                "Updated speakers, abstract, link or track of %(n)d session:",
                "Updated speakers, abstract, link or track of %(n)d sessions:",
                n,
            )
            % {"n": n},
            self.updated,
            lambda s: f"* {s.describe(tz)}  {s.title}",
        )
        n = len(self.cancelled)
        section(
            ngettext("Cancelled %(n)d session:", "Cancelled %(n)d sessions:", n) % {"n": n},
            self.cancelled,
            lambda s: f"- {s.describe(tz)}  {s.title}",
        )
        for heading, names in (
            (_("Rooms added:"), self.rooms_added),
            (_("Rooms changed:"), self.rooms_changed),
            (_("Tracks added:"), self.tracks_added),
            (_("Tracks changed:"), self.tracks_changed),
            (_("Conference changed:"), self.conference_changed),
            (_("Rooms no longer used by any session (remove them in the admin if they are gone):"), self.rooms_unused),
            (_("Tracks no longer used by any session:"), self.tracks_unused),
        ):
            if names:
                out.append(f"{heading} {', '.join(names)}")
        return out


def _slot(talk: Talk | ParsedSession, room_name: str) -> Slot:
    return Slot(talk.title, talk.start, talk.end, room_name)


def _set(obj, values: dict) -> list[str]:
    """Assign the values that differ; return the names of the fields that changed."""
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def apply_schedule(
    schedule: ParsedSchedule, *, dry_run: bool = False, source: str = "", progress: bool = False
) -> ScheduleDiff:
    """Make the database hold `schedule`; all or nothing. With `dry_run`, only compute the diff."""
    diff = ScheduleDiff()
    with transaction.atomic():
        conference = _apply_conference(schedule, diff, source or schedule.source)
        diff.timezone = conference.timezone
        tracks = _apply_tracks(schedule, diff)
        rooms = _apply_rooms(schedule, diff)
        _apply_talks(schedule, diff, rooms, tracks, progress)
        # Rooms and tracks that neither the source's sessions nor its rooms/tracks files mention.
        keep_rooms = {rooms[s.room_slug].pk for s in schedule.sessions}
        keep_rooms |= {rooms[r.slug].pk for r in schedule.rooms if r.declared}
        keep_tracks = {tracks[s.track_slug].pk for s in schedule.sessions if s.track_slug}
        keep_tracks |= {tracks[t.slug].pk for t in schedule.tracks if t.declared}
        diff.rooms_unused = [r.name for r in Room.objects.exclude(pk__in=keep_rooms)]
        diff.tracks_unused = [t.name for t in Track.objects.exclude(pk__in=keep_tracks)]
        if dry_run:
            transaction.set_rollback(True)
    if diff.changed and not dry_run:
        logger.debug("Schedule from %s imported: %s", source or schedule.source, diff.summary())
        schedule_changed.send(sender=Conference, diff=diff)
    return diff


def _apply_conference(schedule: ParsedSchedule, diff: ScheduleDiff, source: str) -> Conference:
    parsed = schedule.conference
    conference = Conference.objects.select_for_update().order_by("pk").first()
    values = {
        key: value
        for key, value in (
            ("name", parsed.name),
            ("timezone", parsed.timezone),
            ("start_date", parsed.start_date),
            ("end_date", parsed.end_date),
        )
        if value is not None
    }
    if conference is None:
        values.setdefault("name", _("Conference (imported from %(source)s)") % {"source": source[:150]})
        conference = Conference.objects.create(**values, source=source[:500], imported_at=timezone.now())
        diff.conference_changed = sorted(values)
        return conference
    diff.conference_changed = _set(conference, values)
    conference.source = source[:500]
    conference.imported_at = timezone.now()
    conference.save()
    return conference


def _apply_tracks(schedule: ParsedSchedule, diff: ScheduleDiff) -> dict[str, Track]:
    by_slug = {t.slug: t for t in Track.objects.all()}
    by_name = {t.name.casefold(): t for t in by_slug.values()}
    out: dict[str, Track] = {}
    for parsed in schedule.tracks:
        track = by_slug.get(parsed.slug) or by_name.get(parsed.name.casefold())
        values = {"name": parsed.name[:200]}
        for key in ("colour", "matrix_room", "extra"):
            if getattr(parsed, key) is not None:
                values[key] = getattr(parsed, key)
        if track is None:
            values.setdefault("colour", palette_colour(parsed.name))
            track = Track.objects.create(slug=parsed.slug, **values)
            diff.tracks_added.append(track.name)
        elif changed := _set(track, values):
            track.save(update_fields=changed)
            diff.tracks_changed.append(track.name)
        out[parsed.slug] = track
    return out


def _apply_rooms(schedule: ParsedSchedule, diff: ScheduleDiff) -> dict[str, Room]:
    by_slug = {r.slug: r for r in Room.objects.all()}
    by_name = {r.name.casefold(): r for r in by_slug.values()}
    next_position = (Room.objects.aggregate(m=Max("position"))["m"] or 0) + 1
    out: dict[str, Room] = {}
    for index, parsed in enumerate(schedule.rooms):
        room = by_slug.get(parsed.slug) or by_name.get(parsed.name.casefold())
        values: dict = {"name": parsed.name[:200]}
        if parsed.declared:
            # A rooms file describes its rooms completely, in the order to show them.
            values.update(
                kind=parsed.kind,
                bbb_server=parsed.bbb_server[:255],
                matrix_room=parsed.matrix_room[:255],
                moderator_emails=parsed.moderator_emails,
                capacity=parsed.capacity,
                position=index,
            )
        if room is None:
            if not parsed.declared:
                values["position"] = next_position
                next_position += 1
            room = Room.objects.create(slug=parsed.slug, **values)
            diff.rooms_added.append(room.name)
        elif changed := _set(room, values):
            room.save(update_fields=changed)
            if changed != ["position"]:
                diff.rooms_changed.append(room.name)
        out[parsed.slug] = room
    return out


def _apply_talks(
    schedule: ParsedSchedule, diff: ScheduleDiff, rooms: dict[str, Room], tracks: dict[str, Track], progress: bool
) -> None:
    existing = {t.external_id: t for t in Talk.objects.select_related("room", "track")}
    seen: set[str] = set()
    new: list[Talk] = []
    for parsed in tqdm(schedule.sessions, desc=_("sessions"), unit="", disable=not progress or None, leave=False):
        seen.add(parsed.external_id)
        room = rooms[parsed.room_slug]
        values = {
            "title": parsed.title,
            "start": parsed.start,
            "end": parsed.end,
            "room": room,
            "track": tracks[parsed.track_slug] if parsed.track_slug else None,
            "speaker_names": parsed.speaker_names,
            "speaker_emails": parsed.speaker_emails,
            "abstract": parsed.abstract,
            "url": parsed.url,
            "is_break": parsed.is_break,
        }
        talk = existing.get(parsed.external_id)
        if talk is None:
            new.append(Talk(external_id=parsed.external_id, **values))
            diff.added.append(_slot(parsed, room.name))
            continue
        before = _slot(talk, talk.room.name)
        changed = _set(talk, values)
        if not changed:
            continue
        after = _slot(talk, room.name)
        if {"start", "end", "room"} & set(changed):
            talk.sequence += 1
            changed.append("sequence")
            diff.moved.append((before, after))
        if "title" in changed:
            diff.retitled.append((before, after))
        if set(changed) - {"start", "end", "room", "title", "sequence"}:
            diff.updated.append(after)
        talk.save(update_fields=changed)
    Talk.objects.bulk_create(new, batch_size=500)
    gone = [t for external_id, t in existing.items() if external_id not in seen]
    diff.cancelled = [_slot(t, t.room.name) for t in sorted(gone, key=lambda t: t.start)]
    Talk.objects.filter(pk__in=[t.pk for t in gone]).delete()
    diff.added.sort(key=lambda s: (s.start, s.room))
    diff.updated.sort(key=lambda s: (s.start, s.room))
    for pairs in (diff.moved, diff.retitled):
        pairs.sort(key=lambda pair: (pair[1].start, pair[1].room))
