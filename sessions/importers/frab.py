"""frab schedules, as frab, pretalx and the CCC/FOSDEM tools publish them: `schedule.xml` and
`schedule.json` (the same content in two encodings).

- Rooms are the `<room name>` elements (JSON: the keys of `day.rooms`); tracks are the events'
  free-text `track`s. frab carries no colours, so tracks keep theirs from the admin or get one.
- An event's instant is its ISO `date` with offset; without one, the day's `date` plus `start`
  in the conference zone, rolled over past midnight for days that run into the next morning.
  `duration` is HH:MM.
- The conference zone is `time_zone_name` when present; otherwise it is derived from the
  offsets the events carry (one offset: `Etc/GMT-1` for +01:00; a DST change: a zone with
  exactly those offsets) and a warning suggests `--timezone`.
- Events of type `break` (or `pause`) are breaks. The ID is the event's `guid`, else
  `frab:<acronym>:<id>`.
"""

import contextlib
import json
import pyexpat
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.utils.translation import gettext as _

from sessions.importers.base import (
    ParsedConference,
    ParsedSession,
    Problems,
    Where,
    checked_url,
    decode_text,
    json_path,
)
from sessions.importers.times import TimeProblem, iana_zone, localise, parse_duration, zone_for_offsets

BREAK_TYPES = ("break", "pause")


@dataclass
class _Event:
    """One frab event, whichever encoding it came from, with where each field was found."""

    fields: dict[str, str]
    persons: list[str]
    room_fallback: str
    day_date: str
    day_start: str  # the day's start and end (ISO, or a time): a `start` before the day's
    day_end: str  # start, or before an end past midnight, is on the next morning; may be ""
    where: Where
    field_where: dict[str, Where] = field(default_factory=dict)

    def at(self, key: str) -> Where:
        return self.field_where.get(key, self.where)


@dataclass
class _Node:
    tag: str
    attrib: dict[str, str]
    line: int
    children: list["_Node"] = field(default_factory=list)
    chunks: list[str] = field(default_factory=list)  # joined once at the end: += would be quadratic

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def find(self, tag: str) -> "_Node | None":
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list["_Node"]:
        return [c for c in self.children if c.tag == tag]


def _parse_xml(data: bytes, source: str, problems: Problems) -> _Node | None:
    """A small element tree that remembers the line of each element (ElementTree does not)."""
    parser = pyexpat.ParserCreate()
    root: list[_Node] = []
    stack: list[_Node] = []

    def start(tag: str, attrib: dict[str, str]) -> None:
        node = _Node(tag, attrib, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if stack:
            stack[-1].chunks.append(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except pyexpat.ExpatError as e:
        problems.error(
            Where(source, line=e.lineno),
            _("not well-formed XML: %(msg)s (column %(col)d)")
            % {"msg": pyexpat.ErrorString(e.code), "col": e.offset + 1},
        )
        return None
    return root[0] if root else None


def _xml_events(data: bytes, source: str, problems: Problems) -> tuple[dict[str, str], list[_Event]]:
    root = _parse_xml(data, source, problems)
    if root is None:
        return {}, []
    if root.tag != "schedule":
        problems.error(
            Where(source, line=root.line), _("the root element is <%(tag)s>, not <schedule>") % {"tag": root.tag}
        )
        return {}, []
    conf_node = root.find("conference")
    conference = {}
    if conf_node is not None:
        conference = {c.tag: c.text.strip() for c in conf_node.children if not c.children}
    events = []
    read: set[int] = set()
    for day in root.findall("day"):
        # Pentabarf before ~2012 (FOSDEM 2007-2011) lists events directly under <day>, each
        # naming its room in <room>; later exports group them in <room name> elements.
        for child in day.children:
            if child.tag == "event":
                events.append(_xml_event(child, day, "", source))
                read.add(id(child))
            elif child.tag == "room":
                for ev in child.findall("event"):
                    events.append(_xml_event(ev, day, child.attrib.get("name", ""), source))
                    read.add(id(ev))
    unread = [node for node in _walk(root) if node.tag == "event" and id(node) not in read]
    if unread:
        problems.error(
            Where(source, line=unread[0].line),
            _(
                "%(n)d <event> element(s), the first here, are not inside <day> or <day><room>; "
                "they were not read, so nothing is imported"
            )
            % {"n": len(unread)},
        )
    return conference, events


def _xml_event(ev: _Node, day: _Node, room_name: str, source: str) -> _Event:
    fields = {c.tag: c.text.strip() for c in ev.children if not c.children}
    fields.update({f"@{k}": v for k, v in ev.attrib.items()})
    if "id" not in fields and "@id" in fields:
        fields["id"] = fields["@id"]
    if "guid" not in fields and "@guid" in fields:
        fields["guid"] = fields["@guid"]
    persons_node = ev.find("persons")
    persons = [p.text.strip() for p in persons_node.findall("person")] if persons_node is not None else []
    return _Event(
        fields=fields,
        persons=[p for p in persons if p],
        room_fallback=room_name,
        day_date=day.attrib.get("date", ""),
        day_start=day.attrib.get("start", ""),
        day_end=day.attrib.get("end", ""),
        where=Where(source, line=ev.line),
        field_where={c.tag: Where(source, line=c.line) for c in ev.children},
    )


def _walk(node: _Node):
    yield node
    for child in node.children:
        yield from _walk(child)


def _json_events(data: bytes, source: str, problems: Problems) -> tuple[dict[str, str], list[_Event]]:
    text = decode_text(data, source, problems)
    if text is None:
        return {}, []
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        problems.error(
            Where(source, line=e.lineno), _("not valid JSON: %(msg)s (column %(col)d)") % {"msg": e.msg, "col": e.colno}
        )
        return {}, []
    schedule = document.get("schedule") if isinstance(document, dict) else None
    conf = schedule.get("conference") if isinstance(schedule, dict) else None
    if not isinstance(conf, dict):
        problems.error(Where(source, path="schedule.conference"), _("expected an object (a frab schedule.json)"))
        return {}, []
    conference = {k: str(v) for k, v in conf.items() if isinstance(v, str | int | float) and not isinstance(v, bool)}
    days = conf.get("days")
    if not isinstance(days, list):
        problems.error(Where(source, path="schedule.conference.days"), _("expected a list of days"))
        return conference, []
    events = []
    for d, day in enumerate(days):
        if not isinstance(day, dict) or not isinstance(day.get("rooms"), dict):
            problems.error(
                Where(source, path=json_path("schedule", "conference", "days", d, "rooms")),
                _("expected an object of rooms"),
            )
            continue
        for room_name, room_events in day["rooms"].items():
            base = ("schedule", "conference", "days", d, "rooms", room_name)
            if not isinstance(room_events, list):
                problems.error(Where(source, path=json_path(*base)), _("expected a list of events"))
                continue
            for i, ev in enumerate(room_events):
                path = (*base, i)
                if not isinstance(ev, dict):
                    problems.error(Where(source, path=json_path(*path)), _("expected an event object"))
                    continue
                fields = {k: str(v) for k, v in ev.items() if isinstance(v, str | int) and not isinstance(v, bool)}
                persons = []
                people = ev.get("persons") or []
                if not isinstance(people, list):
                    problems.error(Where(source, path=json_path(*path, "persons")), _("expected a list of persons"))
                    people = []
                for person in people:
                    if isinstance(person, dict):
                        name = person.get("public_name") or person.get("full_public_name") or person.get("name")
                        if isinstance(name, str) and name.strip():
                            persons.append(name.strip())
                events.append(
                    _Event(
                        fields=fields,
                        persons=persons,
                        room_fallback=room_name,
                        day_date=str(day.get("date", "")),
                        day_start=str(day.get("day_start") or ""),
                        day_end=str(day.get("day_end") or ""),
                        where=Where(source, path=json_path(*path)),
                        field_where={k: Where(source, path=json_path(*path, k)) for k in ev},
                    )
                )
    return conference, events


def _has_offset(value: str) -> bool:
    try:
        return "T" in value and datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def _wall_time(value: str) -> time | None:
    """The wall-clock time in an ISO date-time or a bare time (`2013-12-28T04:00:00+01:00`, `04:00`)."""
    value = value.strip()
    for parse in (datetime.fromisoformat, time.fromisoformat):
        try:
            parsed = parse(value)
        except ValueError:
            continue
        return parsed.time() if isinstance(parsed, datetime) else parsed.replace(tzinfo=None)
    return None


def _next_morning(naive: datetime, ev: _Event, day_change: str) -> bool:
    """Whether an event without a date of its own, at `start` on its day's date, is really on the
    next calendar date: congress days run from late morning into the small hours. The day's own
    start says where it begins; failing that its end (if it ends after midnight); failing that
    the conference's `day_change` (pentabarf and old frab exports)."""
    begins = _wall_time(ev.day_start) if ev.day_start else None
    if begins is not None:
        return naive.time() < begins
    if ev.day_end:
        try:
            ends = datetime.fromisoformat(ev.day_end)
        except ValueError:
            ends = None
        if ends is not None and ev.day_date:
            with contextlib.suppress(ValueError):
                if ends.date() > date.fromisoformat(ev.day_date):
                    return naive.time() < ends.time()
                return False
    change = _wall_time(day_change) if day_change else None
    return change is not None and naive.time() < change


def _event_times(ev: _Event, tz: Any, problems: Problems, day_change: str = "") -> tuple[datetime, datetime] | None:
    try:
        duration = parse_duration(ev.fields.get("duration", ""))
    except TimeProblem as e:
        problems.error(ev.at("duration"), str(e))
        return None
    iso = ev.fields.get("date", "")
    if iso and "T" in iso:
        try:
            start = datetime.fromisoformat(iso.replace("Z", "+00:00"))
        except ValueError:
            problems.error(ev.at("date"), _("%(value)r is not an ISO date and time") % {"value": iso})
            return None
        if start.tzinfo is None:
            if tz is None:
                problems.error(
                    ev.at("date"), _("%(value)r has no UTC offset and the schedule no zone") % {"value": iso}
                )
                return None
            start = localise(start, tz)
    else:
        if tz is None:
            problems.error(ev.where, _("the event has no ISO date with offset and the schedule no zone"))
            return None
        try:
            day = date.fromisoformat(ev.day_date or iso)
            hh, mm = (int(x) for x in ev.fields.get("start", "").split(":")[:2])
            naive = datetime(day.year, day.month, day.day, hh, mm)
        except ValueError:
            problems.error(ev.at("start"), _("%(value)r is not a time like 09:30") % {"value": ev.fields.get("start")})
            return None
        if _next_morning(naive, ev, day_change):
            naive += timedelta(days=1)
        try:
            start = localise(naive, tz)
        except TimeProblem as e:
            problems.error(ev.at("start"), str(e))
            return None
    start = start.astimezone(UTC)
    return start, start + duration


def parse_frab(
    data: bytes, source: str, problems: Problems, encoding: str, timezone: str | None = None
) -> tuple[ParsedConference, list[ParsedSession]]:
    """`encoding` is "xml" or "json"; `timezone` overrides the schedule's own zone."""
    conference, events = (_xml_events if encoding == "xml" else _json_events)(data, source, problems)
    if problems.failed:
        return ParsedConference(), []

    zone_name = timezone or conference.get("time_zone_name") or None
    tz = None
    if zone_name:
        try:
            tz = iana_zone(zone_name)
        except TimeProblem as e:
            problems.error(Where(source), str(e))
            return ParsedConference(), []

    if tz is None:
        undated = [ev for ev in events if not _has_offset(ev.fields.get("date", ""))]
        if undated:
            # One message with the way out, not one per event: the zone is what is missing.
            problems.error(
                Where(source),
                _(
                    "give --timezone with the conference's IANA time zone (e.g. Europe/Brussels): the schedule "
                    "names none, and %(n)d of its %(total)d events have no date with a UTC offset, so their "
                    "times cannot be placed (the first at %(first)s)"
                )
                % {"n": len(undated), "total": len(events), "first": undated[0].where},
            )
            return ParsedConference(), []

    acronym = conference.get("acronym", "")
    sessions = []
    offsets = []
    for ev in events:
        title = ev.fields.get("title", "")
        if not title:
            problems.error(ev.at("title"), _("the event has no title"))
            continue
        times = _event_times(ev, tz, problems, conference.get("day_change", ""))
        if times is None:
            continue
        with contextlib.suppress(ValueError):
            stated = datetime.fromisoformat(ev.fields.get("date", "").replace("Z", "+00:00"))
            if stated.tzinfo is not None:
                offsets.append(stated)
        guid = ev.fields.get("guid", "")
        event_id = ev.fields.get("id", "")
        if not guid and not event_id:
            problems.error(ev.where, _("the event has neither a guid nor an id"))
            continue
        subtitle = ev.fields.get("subtitle", "")
        abstract = ev.fields.get("abstract", "") or ev.fields.get("description", "")
        if subtitle and subtitle not in abstract:
            abstract = f"{subtitle}\n\n{abstract}".strip()
        url = checked_url(ev.fields.get("url", ""), ev.at("url"), problems)
        sessions.append(
            ParsedSession(
                external_id=guid or f"frab:{acronym}:{event_id}",
                title=title,
                start=times[0],
                end=times[1],
                where=ev.where,
                room=ev.fields.get("room") or ev.room_fallback,
                track=ev.fields.get("track") or None,
                speaker_names=ev.persons,
                abstract=abstract,
                url=url,
                is_break=ev.fields.get("type", "").lower() in BREAK_TYPES,
            )
        )

    if zone_name is None:
        zone_name = zone_for_offsets(offsets)
        if zone_name is None:
            problems.error(
                Where(source),
                _("the schedule names no time zone and its offsets fit none; give --timezone (an IANA name)"),
            )
        else:
            problems.warn(
                Where(source),
                _(
                    "the schedule names no time zone; %(zone)s fits its UTC offsets. Give --timezone (e.g. "
                    "Europe/Berlin) to show the conference's own zone"
                )
                % {"zone": zone_name},
            )

    def as_date(value: str) -> date | None:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None

    return (
        ParsedConference(
            name=conference.get("title") or None,
            timezone=zone_name,
            start_date=as_date(conference.get("start", "")),
            end_date=as_date(conference.get("end", "")),
        ),
        sessions,
    )
