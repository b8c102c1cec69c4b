"""The local schedule file: a plain-text schedule an organiser writes by hand.

See docs/schedule-formats.md for the full description. In short:

    # comment
    conference: Sample Plumbers Conference
    timezone:   Europe/Dublin
    rooms:      rooms          # lpcfe rooms file, relative to this file
    tracks:     tracks         # lpcfe tracks file

    day 2026-10-23 Friday
    09:00-09:30 | Town hall | Opening | Welcome | Ada Lovelace <ada@example.org>
        id: welcome
        abstract: First line of the abstract,
          continued on lines indented further.
    10:30-11:00 | break | Coffee break
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext as _

from sessions.emails import normalise_email, validate_email
from sessions.importers.base import ParsedConference, ParsedSession, Problems, Where, checked_url, decode_lines
from sessions.importers.times import TimeProblem, iana_zone, localise, zone_from_name

HEADER_KEYS = ("conference", "timezone", "tracks", "rooms", "url")
PROPERTY_KEYS = ("id", "url", "abstract")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_DAY = re.compile(r"^day\s+(\S+)\s*(.*)$", re.IGNORECASE)
_HEADER = re.compile(r"^([A-Za-z_]+)\s*:\s*(.*)$")
_TIMES = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})(?:\s+(\S+))?$")
_SPEAKER = re.compile(r"^(.*?)\s*<([^<>]+)>$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,149}$")


@dataclass
class LocalFile:
    """What a local schedule file says; `tracks_file`/`rooms_file` are as written in its header."""

    conference: ParsedConference
    sessions: list[ParsedSession]
    tracks_file: tuple[str, Where] | None = None
    rooms_file: tuple[str, Where] | None = None
    base_url: str = ""


def _strip_comment(line: str) -> str:
    """Whole-line comments only: a title like "Bug #42" must survive."""
    return "" if line.lstrip().startswith("#") else line.rstrip()


def _strip_trailing_comment(text: str) -> str:
    """Header and day lines may end in ` # a note`; session lines may not (titles contain '#')."""
    return re.split(r"\s#", text, maxsplit=1)[0].rstrip()


class _Parser:
    def __init__(self, source: str, problems: Problems) -> None:
        self.source = source
        self.problems = problems
        self.header: dict[str, tuple[str, Where]] = {}
        self.sessions: list[ParsedSession] = []
        self.explicit_ids: set[int] = set()  # id() of sessions whose ID came from an `id:` line
        self.tz: tzinfo | None = None
        self.day: date | None = None
        self.day_ok = False  # the last day line was valid
        self.days: list[date] = []
        self.group: list[ParsedSession] = []  # the current session (several for a break in several rooms)
        self.prop: str | None = None
        self.prop_indent = 0
        self.skipping = False  # the last session line was rejected: ignore its indented lines quietly

    def error(self, where: Where, message: str) -> None:
        self.problems.error(where, message)

    def parse(self, data: bytes) -> LocalFile:
        for number, raw in enumerate(decode_lines(data, self.source, self.problems), start=1):
            where = Where(self.source, line=number)
            line = _strip_comment(raw.replace("\t", "    "))
            if line.strip():
                self.line(line, where)
        first = Where(self.source, line=1)
        if not self.header.get("conference", ("", None))[0]:
            self.error(first, _("the header must name the conference: add a line 'conference: Name of the event'"))
        if "timezone" not in self.header:
            self.error(
                first, _("the header must give the conference's time zone: add a line 'timezone: Europe/Dublin'")
            )
        if not self.days and not self.problems.failed:
            self.error(first, _("no 'day YYYY-MM-DD' line: the schedule is empty"))
        self.check_derived_ids()
        return LocalFile(
            conference=ParsedConference(
                name=self.header.get("conference", ("", None))[0] or None,
                timezone=self.header.get("timezone", ("", None))[0] or None,
                start_date=min(self.days) if self.days else None,
                end_date=max(self.days) if self.days else None,
            ),
            sessions=self.sessions,
            tracks_file=self.header.get("tracks"),
            rooms_file=self.header.get("rooms"),
            base_url=self.header.get("url", ("", None))[0],
        )

    def line(self, line: str, where: Where) -> None:
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        if indent:
            if self.skipping:
                return
            if self.prop == "abstract" and self.group and indent > self.prop_indent:
                for s in self.group:
                    s.abstract = (s.abstract + "\n" + text).strip()
            elif not self.group:
                self.error(where, _("an indented line must follow the session line it belongs to"))
            else:
                self.property(text, indent, where)
            return

        self.group, self.prop, self.skipping = [], None, False
        header = _HEADER.match(_strip_trailing_comment(text))
        is_header = bool(header and header.group(1).lower() in HEADER_KEYS)
        if m := _DAY.match(_strip_trailing_comment(text)):
            self.day_line(m, where)
        elif _TIMES.match(text.split("|", 1)[0].strip()) or ("|" in text and not is_header):
            self.skipping = True
            if not self.day_ok:
                if not self.days:
                    self.error(where, _("a session line before any 'day YYYY-MM-DD' line"))
                return
            self.group = self.session_line(text, where)
            self.sessions.extend(self.group)
            self.skipping = not self.group
        elif header:
            self.header_line(header.group(1).lower(), header.group(2).strip(), where)
        else:
            self.error(
                where,
                _("%(text)r is not a header (key: value), a 'day YYYY-MM-DD' line, or a session line (TIME | ...)")
                % {"text": text},
            )

    def header_line(self, key: str, value: str, where: Where) -> None:
        if key not in HEADER_KEYS:
            self.error(
                where, _("unknown header %(key)r (known: %(keys)s)") % {"key": key, "keys": ", ".join(HEADER_KEYS)}
            )
        elif self.days:
            self.error(where, _("header lines (%(key)s: ...) go before the first day line") % {"key": key})
        elif key in self.header:
            self.error(
                where, _("%(key)s is already set at line %(line)s") % {"key": key, "line": self.header[key][1].line}
            )
        else:
            self.header[key] = (value, where)
            if key == "timezone":
                try:
                    self.tz = iana_zone(value)
                except TimeProblem as e:
                    self.error(where, str(e))
            elif key == "url" and value:
                checked_url(value, where, self.problems)

    def day_line(self, m: re.Match, where: Where) -> None:
        self.day_ok = False
        try:
            day = date.fromisoformat(m.group(1))
        except ValueError:
            self.error(where, _("%(value)r is not a date like 2026-10-23") % {"value": m.group(1)})
            self.days.append(date.min)  # a day line was seen: later session lines are not "before any day"
            return
        label = m.group(2).strip().strip("()").lower()
        if label in WEEKDAYS and WEEKDAYS[day.weekday()] != label:
            self.error(
                where,
                _("%(date)s is a %(weekday)s, not a %(label)s")
                % {"date": day.isoformat(), "weekday": WEEKDAYS[day.weekday()].title(), "label": label.title()},
            )
        if day in self.days:
            self.error(where, _("day %(date)s appears twice") % {"date": day.isoformat()})
        self.days.append(day)
        self.day = day
        self.day_ok = True

    def session_line(self, text: str, where: Where) -> list[ParsedSession]:
        fields = [f.strip() for f in text.split("|")]
        is_break = len(fields) > 1 and fields[1].lower() == "break"
        if is_break and len(fields) not in (3, 4):
            self.error(
                where,
                _("a break line has 3 or 4 columns (TIME | break | TITLE [| ROOMS]), this one has %(n)d")
                % {"n": len(fields)},
            )
            return []
        if not is_break and len(fields) not in (4, 5):
            self.error(
                where,
                _("a session line has 4 or 5 columns (TIME | ROOM | TRACK | TITLE [| SPEAKERS]), this one has %(n)d")
                % {"n": len(fields)},
            )
            return []
        times = self.time_range(fields[0], where)
        title = fields[2] if is_break else fields[3]
        if not title:
            self.error(where, _("the title is empty"))
            return []
        if times is None:
            return []
        start, end = times
        if is_break:
            rooms = [r.strip() for r in fields[3].split(",")] if len(fields) == 4 else []
            rooms = [r for r in rooms if r and r != "*"]
            local_start = start.astimezone(self.tz) if self.tz else start
            base_id = f"break-{self.day.isoformat()}-{local_start:%H%M}"
            return [
                ParsedSession(
                    external_id=base_id if room is None else f"{base_id}@{slugify(room)}",
                    title=title,
                    start=start,
                    end=end,
                    where=where,
                    room=room,
                    is_break=True,
                )
                for room in (rooms or [None])
            ]
        room, track = fields[1], fields[2]
        if not room:
            self.error(where, _("the room column is empty"))
            return []
        names, emails = self.speakers(fields[4], where) if len(fields) == 5 else ([], [])
        return [
            ParsedSession(
                external_id=slugify(title) or f"session-{where.line}",
                title=title,
                start=start,
                end=end,
                where=where,
                room=room,
                track=None if track in ("", "-") else track,
                speaker_names=names,
                speaker_emails=emails,
            )
        ]

    def time_range(self, text: str, where: Where) -> tuple[datetime, datetime] | None:
        m = _TIMES.match(text)
        if not m:
            self.error(
                where,
                _("%(text)r is not a time range like 09:00-09:45 (optionally followed by a zone)") % {"text": text},
            )
            return None
        h1, m1, h2, m2 = (int(x) for x in m.group(1, 2, 3, 4))
        if h1 > 47 or h2 > 47 or m1 > 59 or m2 > 59:
            self.error(
                where, _("%(text)r: hours run 00-47 (24:30 is half past midnight), minutes 00-59") % {"text": text}
            )
            return None
        tz = self.tz
        if m.group(5):
            try:
                tz = zone_from_name(m.group(5))
            except TimeProblem as e:
                self.error(where, str(e))
                return None
        if tz is None:
            return None  # the header's zone is missing or wrong; that is reported once already
        midnight = datetime(self.day.year, self.day.month, self.day.day)
        try:
            start = localise(midnight + timedelta(hours=h1, minutes=m1), tz)
            end = localise(midnight + timedelta(hours=h2, minutes=m2), tz)
        except TimeProblem as e:
            self.error(where, str(e))
            return None
        return start.astimezone(UTC), end.astimezone(UTC)

    def speakers(self, value: str, where: Where) -> tuple[list[str], list[str]]:
        names: list[str] = []
        emails: list[str] = []
        for item in (s.strip() for s in value.split(",")):
            if not item:
                continue
            name, email = item, ""
            if m := _SPEAKER.match(item):
                name, email = m.group(1).strip(), m.group(2).strip()
            elif "@" in item and " " not in item:
                name, email = "", item
            if email:
                try:
                    validate_email(email)
                except ValidationError:
                    self.error(
                        where, _("speaker %(item)r: %(email)r is not an email address") % {"item": item, "email": email}
                    )
                    continue
                emails.append(normalise_email(email))
            names.append(name or email.split("@")[0])
        return names, emails

    def property(self, text: str, indent: int, where: Where) -> None:
        key, sep, value = text.partition(":")
        key, value = key.strip().lower(), value.strip()
        self.prop = None
        if not sep or key not in PROPERTY_KEYS:
            self.error(
                where,
                _("%(text)r: expected one of %(keys)s followed by ':' (indent abstract lines further to continue it)")
                % {"text": text, "keys": ", ".join(PROPERTY_KEYS)},
            )
            return
        self.prop, self.prop_indent = key, indent
        if key == "id":
            if not _ID.match(value):
                self.error(
                    where,
                    _("id %(value)r: use letters, digits and . _ - : / @ + (at most 150 characters)")
                    % {"value": value},
                )
                return
            for s in self.group:
                s.external_id = value if len(self.group) == 1 else f"{value}@{slugify(s.room or '')}"
                self.explicit_ids.add(id(s))
        elif key == "url":
            base = self.header.get("url", ("", None))[0]
            url = value if "://" in value or not base else base.rstrip("/") + "/" + value.lstrip("/")
            if not checked_url(url, where, self.problems):
                return
            for s in self.group:
                s.url = url
        else:
            for s in self.group:
                s.abstract = value

    def check_derived_ids(self) -> None:
        """Two sessions whose IDs both come from the same title need an `id:` line each."""
        by_id: dict[str, ParsedSession] = {}
        for s in self.sessions:
            if s.is_break or id(s) in self.explicit_ids:
                continue
            other = by_id.get(s.external_id)
            if other is not None:
                self.error(
                    s.where,
                    _(
                        "%(title)r has the same title as the session at line %(line)s: give both an 'id:' line "
                        "(e.g. id: %(id)s-2) so changes to each can be followed"
                    )
                    % {"title": s.title, "line": other.where.line, "id": s.external_id},
                )
            else:
                by_id[s.external_id] = s


def parse_local(data: bytes, source: str, problems: Problems) -> LocalFile:
    return _Parser(source, problems).parse(data)
