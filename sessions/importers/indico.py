"""Indico timetable export: `/export/timetable/<event id>.json`.

Reads both the Indico 1.x shape (fossils; e.g. the CHEP 2009 export) and the Indico 2.x/3.x
`TimetableSerializer` shape. How entries map onto lpcfe:

- A session block is a track (the session's title, with its colour); its contributions and
  breaks are sessions in that track. A block without children is itself one session. A poster
  block is one session whose abstract lists the posters (they share the slot and the room).
- A top-level contribution has no track; a top-level break is kept (a break without a room is
  placed in every room in use at that time).
- Times are the entry's wall-clock `date` + `time` in its own `tz` field (DST-correct), never a
  fixed offset.
- An empty `room` inherits the block's room, then the entry's `location` (the venue Indico
  shows when no room is set).
- Relative `url`s are made absolute against the host the export came from.
- Blocks running past midnight are listed under both days; the repeat is skipped.
"""

import json
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from sessions.emails import normalise_email, validate_email
from sessions.importers.base import (
    ParsedConference,
    ParsedSession,
    ParsedTrack,
    Problems,
    Where,
    checked_url,
    decode_text,
    json_path,
    normalise_colour,
)
from sessions.importers.times import TimeProblem, iana_zone, localise


class _IndicoParser:
    def __init__(self, source: str, problems: Problems, base_url: str) -> None:
        self.source = source
        self.problems = problems
        self.base_url = base_url
        self.sessions: list[ParsedSession] = []
        self.tracks: dict[str, ParsedTrack] = {}
        self.zones: Counter[str] = Counter()
        self.seen: dict[str, tuple[dict, tuple]] = {}
        self.relative_urls = 0
        self.event_id = ""

    def where(self, *path: str | int) -> Where:
        return Where(self.source, path=json_path(*path))

    def error(self, path: tuple, message: str) -> None:
        self.problems.error(self.where(*path), message)

    def when(self, entry: dict, key: str, path: tuple) -> datetime | None:
        value = entry.get(key)
        if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in ("date", "time", "tz")):
            self.error((*path, key), _("expected {date, time, tz} with string values"))
            return None
        try:
            naive = datetime.fromisoformat(f"{value['date']}T{value['time']}")
        except ValueError:
            self.error(
                (*path, key),
                _("%(date)s %(time)s is not a date and time") % {"date": value["date"], "time": value["time"]},
            )
            return None
        try:
            zone = iana_zone(value["tz"])
            self.zones[value["tz"]] += 1
            return localise(naive, zone).astimezone(UTC)
        except TimeProblem as e:
            self.error((*path, key, "tz"), str(e))
            return None

    def text(self, entry: dict, key: str) -> str:
        value = entry.get(key)
        return value.strip() if isinstance(value, str) else ""

    def url(self, entry: dict, path: tuple) -> str:
        url = self.text(entry, "url")
        if url and not urlsplit(url).scheme:
            if not self.base_url:
                self.relative_urls += 1
                return ""
            url = urljoin(self.base_url, url)
        return checked_url(url, self.where(*path, "url"), self.problems)

    def people(self, entry: dict, key: str, path: tuple) -> tuple[list[str], list[str]]:
        names, emails = [], []
        people = entry.get(key) or []
        if not isinstance(people, list):
            self.error((*path, key), _("expected a list of people"))
            return [], []
        for i, person in enumerate(people):
            if not isinstance(person, dict):
                self.error((*path, key, i), _("expected a person object"))
                continue
            first, family = self.text(person, "firstName"), self.text(person, "familyName")
            name = self.text(person, "name") or f"{first} {family}".strip()
            if not (first or family) and name.count(", ") == 1:
                # Indico 1.x writes "FAMILY, Given".
                family, first = name.split(", ")
                name = f"{first} {family}"
            email = normalise_email(self.text(person, "email"))
            if email:
                try:
                    validate_email(email)
                    emails.append(email)
                except ValidationError:
                    self.problems.warn(
                        self.where(*path, key, i, "email"),
                        _("%(email)r is not an email address; ignored") % {"email": email},
                    )
            if name:
                names.append(name)
        return names, emails

    def parse(self, document: Any) -> tuple[ParsedConference, list[ParsedSession], list[ParsedTrack]]:
        results = document.get("results") if isinstance(document, dict) else None
        if not isinstance(results, dict) or not results:
            self.error(("results",), _("expected an object with one event ID key (an Indico timetable export)"))
            return ParsedConference(), [], []
        day_keys: list[date] = []
        for event_id, days in results.items():
            self.event_id = event_id
            if not isinstance(days, dict):
                self.error(("results", event_id), _("expected an object of days (YYYYMMDD)"))
                continue
            for day_key, entries in sorted(days.items()):
                try:
                    day_keys.append(datetime.strptime(day_key, "%Y%m%d").date())
                except ValueError:
                    self.error(("results", event_id, day_key), _("day key %(key)r is not YYYYMMDD") % {"key": day_key})
                if not isinstance(entries, dict):
                    self.error(("results", event_id, day_key), _("expected an object of timetable entries"))
                    continue
                for key, entry in entries.items():
                    self.top_level(entry, ("results", event_id, day_key, key))
        if self.relative_urls:
            self.problems.warn(
                Where(self.source),
                _(
                    "%(n)d relative session URL(s) dropped: the export was read from a file; give --base-url "
                    "(the Indico server's address) to keep them"
                )
                % {"n": self.relative_urls},
            )
        timezone = self.zones.most_common(1)[0][0] if self.zones else None
        conference = ParsedConference(
            name=None,  # the timetable export does not carry the event's title
            timezone=timezone,
            start_date=min(day_keys) if day_keys else None,
            end_date=max(day_keys) if day_keys else None,
        )
        return conference, self.sessions, list(self.tracks.values())

    def top_level(self, entry: Any, path: tuple) -> None:
        if not isinstance(entry, dict):
            self.error(path, _("expected a timetable entry object"))
            return
        if not self.first_time_top(entry, path):
            return
        kind = entry.get("entryType")
        if kind == "Session":
            self.block(entry, path)
        elif kind in ("Contribution", "Break"):
            self.item(entry, path, track=None, block_room="")
        else:
            self.error((*path, "entryType"), _("unknown entry type %(kind)r") % {"kind": kind})

    def first_time_top(self, entry: dict, path: tuple) -> bool:
        entry_id = str(entry.get("id") or "")
        if not entry_id:
            self.error((*path, "id"), _("the entry has no id"))
            return False
        previous = self.seen.get(entry_id)
        if previous is not None:
            if previous[0] != entry:
                self.error(
                    path,
                    _("entry id %(id)r also appears at %(other)s with different content")
                    % {"id": entry_id, "other": json_path(*previous[1])},
                )
            return False
        self.seen[entry_id] = (entry, path)
        return True

    def block(self, block: dict, path: tuple) -> None:
        title = self.text(block, "title")
        if not title:
            self.error((*path, "title"), _("the session block has no title"))
            return
        track = self.tracks.get(title)
        if track is None:
            track = self.tracks[title] = ParsedTrack(
                name=title, where=self.where(*path), colour=normalise_colour(self.text(block, "color")) or None
            )
        room = self.text(block, "room") or self.text(block, "location")
        children = block.get("entries") or {}
        if not isinstance(children, dict):
            self.error((*path, "entries"), _("expected an object of entries"))
            return
        if block.get("isPoster") and children:
            self.poster_block(block, path, children, room)
        elif children:
            for key, child in children.items():
                child_path = (*path, "entries", key)
                if not isinstance(child, dict):
                    self.error(child_path, _("expected a timetable entry object"))
                elif child.get("entryType") not in ("Contribution", "Break"):
                    self.error(
                        (*child_path, "entryType"),
                        _("unknown entry type %(kind)r inside a session block") % {"kind": child.get("entryType")},
                    )
                else:
                    self.item(child, child_path, track=title, block_room=room)
        else:
            self.item(block, path, track=title, block_room=room)

    def poster_block(self, block: dict, path: tuple, children: dict, room: str) -> None:
        start, end = self.when(block, "startDate", path), self.when(block, "endDate", path)
        lines = []
        names, emails = [], []
        for key, child in children.items():
            if not isinstance(child, dict):
                self.error((*path, "entries", key), _("expected a timetable entry object"))
                continue
            n, e = self.people(child, "presenters", (*path, "entries", key))
            names += [x for x in n if x not in names]
            emails += [x for x in e if x not in emails]
            line = "• " + self.text(child, "title")
            if n:
                line += " (" + ", ".join(n) + ")"
            lines.append(line)
        if start is None or end is None:
            return
        self.sessions.append(
            ParsedSession(
                external_id=f"indico:{self.event_id}:{block['id']}",
                title=self.text(block, "title"),
                start=start,
                end=end,
                where=self.where(*path),
                room=room or None,
                track=self.text(block, "title"),
                speaker_names=names,
                speaker_emails=emails,
                abstract="\n".join(filter(None, [self.text(block, "description"), *lines])),
                url=self.url(block, path),
            )
        )

    def item(self, entry: dict, path: tuple, track: str | None, block_room: str) -> None:
        start, end = self.when(entry, "startDate", path), self.when(entry, "endDate", path)
        title = self.text(entry, "title")
        is_break = entry.get("entryType") == "Break"
        if not title:
            self.error((*path, "title"), _("the entry has no title"))
            return
        names, emails = self.people(entry, "presenters", path)
        if entry.get("entryType") == "Session":
            names, emails = self.people(entry, "conveners", path)
        if start is None or end is None:
            return
        room = self.text(entry, "room") or block_room or ("" if is_break else self.text(entry, "location"))
        if not room and not is_break:
            self.error((*path, "room"), _("the entry has no room, and neither has its block or location"))
            return
        self.sessions.append(
            ParsedSession(
                external_id=f"indico:{self.event_id}:{entry.get('id')}",
                title=title,
                start=start,
                end=end,
                where=self.where(*path),
                room=room or None,
                track=track,
                speaker_names=names,
                speaker_emails=emails,
                abstract=self.text(entry, "description"),
                url=self.url(entry, path),
                is_break=is_break,
            )
        )


def parse_indico(
    data: bytes, source: str, problems: Problems, base_url: str = ""
) -> tuple[ParsedConference, list[ParsedSession], list[ParsedTrack]]:
    text = decode_text(data, source, problems)
    if text is None:
        return ParsedConference(), [], []
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        problems.error(
            Where(source, line=e.lineno), _("not valid JSON: %(msg)s (column %(col)d)") % {"msg": e.msg, "col": e.colno}
        )
        return ParsedConference(), [], []
    return _IndicoParser(source, problems, base_url).parse(document)
