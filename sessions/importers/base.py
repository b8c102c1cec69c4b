"""What every schedule importer produces, and how it reports problems.

Importers parse a whole source before anything is written and collect every problem they find,
each with the file and line (or JSON path) it comes from, so an organiser fixes a file in one
pass instead of one error per run. Nothing here touches the database.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.text import slugify
from django.utils.translation import gettext as _

FORMATS = ("local", "indico", "frab-xml", "frab-json")


@dataclass(frozen=True)
class Where:
    """A place in a source: `file:line`, or `file:json.path` for JSON sources."""

    source: str
    line: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.source}:{self.line}"
        if self.path:
            return f"{self.source}:{self.path}"
        return self.source


@dataclass(frozen=True)
class Problem:
    where: Where
    message: str
    warning: bool = False

    def __str__(self) -> str:
        prefix = _("warning: ") if self.warning else ""
        return f"{self.where}: {prefix}{self.message}"


class Problems:
    """Collects errors and warnings while a source is parsed; errors stop the import."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def error(self, where: Where, message: str) -> None:
        self.items.append(Problem(where, message))

    def warn(self, where: Where, message: str) -> None:
        self.items.append(Problem(where, message, warning=True))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if not p.warning]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.warning]

    @property
    def failed(self) -> bool:
        return any(not p.warning for p in self.items)


_VARYING = re.compile(r"'[^']*'|\"[^\"]*\"|\d+")


def summarise(problems: list[Problem], first: int | None = 5) -> list[str]:
    """The lines to print for `problems`: those about the whole source first (they say what to
    do), then the others in order, each kind of message `first` times and then one line counting
    the rest, so a mistake repeated on every event does not bury the way out. `first=None` lists all."""
    ordered = sorted(problems, key=lambda p: p.where.line is not None or p.where.path is not None)
    lines: list[str] = []
    seen: dict[tuple[bool, str], int] = {}
    last_shown: dict[tuple[bool, str], int] = {}
    for problem in ordered:
        kind = (problem.warning, _VARYING.sub("…", problem.message))
        seen[kind] = seen.get(kind, 0) + 1
        if first is None or seen[kind] <= first:
            lines.append(str(problem))
            last_shown[kind] = len(lines) - 1
    for kind, index in sorted(last_shown.items(), key=lambda item: -item[1]):
        more = seen[kind] - (first or seen[kind])
        if more > 0:
            lines.insert(index + 1, "  " + _("… and %(n)d more like this") % {"n": more})
    return lines


class ImportFailed(Exception):
    """The source has errors; nothing was written. `problems` lists every one of them."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        count = len(problems.errors)
        super().__init__(_("%(count)d error(s) in the schedule source; nothing was changed.") % {"count": count})


_HTTP_URL = URLValidator(schemes=["http", "https"])


def checked_url(value: str, where: Where, problems: Problems) -> str:
    """`value` if it is an absolute http(s) URL, else "" after an error at `where`.

    Every importer passes every link through here: a session URL is served to browsers and to
    other sites (/api/schedule.json), so `javascript:` or `data:` links must never get in."""
    if not value:
        return ""
    try:
        _HTTP_URL(value)
    except ValidationError:
        problems.error(
            where, _("%(value)r is not an http(s) URL (links must start with http:// or https://)") % {"value": value}
        )
        return ""
    return value


@dataclass
class ParsedConference:
    # None means "the source does not say": the database keeps what it has.
    name: str | None = None
    timezone: str | None = None
    start_date: date | None = None
    end_date: date | None = None


@dataclass
class ParsedTrack:
    name: str
    where: Where
    # Declared tracks come from a tracks file and set every field; implied ones are only named by
    # sessions, and fields left None keep whatever the database (or an organiser in the admin) has.
    declared: bool = False
    colour: str | None = None
    matrix_room: str | None = None
    extra: str | None = None
    slug: str = ""


@dataclass
class ParsedRoom:
    name: str
    where: Where
    declared: bool = False
    kind: str = "session"
    bbb_server: str = ""
    matrix_room: str = ""
    moderator_emails: list[str] = field(default_factory=list)
    capacity: int | None = None
    slug: str = ""


@dataclass
class ParsedSession:
    external_id: str
    title: str
    start: datetime  # timezone-aware
    end: datetime
    where: Where
    room: str | None  # as the source names it; None only for a break meant for every room in use
    track: str | None = None
    speaker_names: list[str] = field(default_factory=list)
    speaker_emails: list[str] = field(default_factory=list)
    abstract: str = ""
    url: str = ""
    is_break: bool = False
    # Filled in by resolve(): the slugs of the room and track this session ends up in.
    room_slug: str = ""
    track_slug: str | None = None


@dataclass
class ParsedSchedule:
    source: str
    format: str
    conference: ParsedConference
    sessions: list[ParsedSession]
    tracks: list[ParsedTrack] = field(default_factory=list)
    rooms: list[ParsedRoom] = field(default_factory=list)
    # With a rooms (tracks) file every reference must name a room (track) declared there;
    # without one, the rooms (tracks) a source names are created as needed.
    rooms_declared: bool = False
    tracks_declared: bool = False
    warnings: list[Problem] = field(default_factory=list)


def make_slug(name: str, max_length: int = 100) -> str:
    """A stable URL slug for a room or track name; names that slugify to nothing get a hash."""
    slug = slugify(re.sub(r"[/:.+]", " ", name.replace("&", " and ")))
    if not slug:
        return "x-" + short_hash(name)
    if len(slug) > max_length:
        slug = slug[: max_length - 7].rstrip("-") + "-" + short_hash(name)
    return slug


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


_COLOUR6 = re.compile(r"^#?([0-9a-fA-F]{6})$")
_COLOUR3 = re.compile(r"^#?([0-9a-fA-F]{3})$")


def normalise_colour(value: str) -> str | None:
    """`#rrggbb` (also `#rgb` or without `#`, any case) as lower-case `#rrggbb`; None if not a colour."""
    value = value.strip()
    if m := _COLOUR6.match(value):
        return "#" + m.group(1).lower()
    if m := _COLOUR3.match(value):
        return "#" + "".join(c * 2 for c in m.group(1).lower())
    return None


# Pleasant, distinct background colours for tracks a source names without a colour.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#86bcb6",
    "#d37295",
)


def palette_colour(name: str) -> str:
    return PALETTE[int(short_hash(name), 16) % len(PALETTE)]


def decode_lines(data: bytes, source: str, problems: Problems) -> list[str]:
    """Split UTF-8 text into lines, accepting a BOM and CRLF; each non-UTF-8 line is an error.

    Lines that fail to decode are kept (with replacement characters) so parsing goes on and
    reports everything else too.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.removesuffix(b"\r")
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            problems.error(
                Where(source, line=number),
                _("not valid UTF-8 (byte 0x%(byte)02x at column %(column)d); save the file as UTF-8")
                % {"byte": raw[e.start], "column": e.start + 1},
            )
            lines.append(raw.decode("utf-8", errors="replace"))
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def decode_text(data: bytes, source: str, problems: Problems) -> str | None:
    """The whole source as text (for JSON), or None after reporting each non-UTF-8 line."""
    before = len(problems.errors)
    lines = decode_lines(data, source, problems)
    if len(problems.errors) > before:
        return None
    return "\n".join(lines)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(*parts: str | int) -> str:
    """`schedule.conference.days[2].rooms["Saal 1"][4]` from its keys and indexes."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(part):
            out += ("." if out else "") + part
        else:
            escaped = part.replace("\\", "\\\\").replace('"', '\\"')
            out += f'["{escaped}"]'
    return out
