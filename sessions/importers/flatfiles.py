"""lpcfe's flat configuration files: `tracks` and `rooms`.

Both are one entry per line with `:`-separated fields; blank lines and lines starting with `#`
are ignored. Accepted is everything the original lpcfe parsers accept, plus:

- tracks: `track:colour[:matrix_room[:extra]]`; the colour may be `#rrggbb`, `#rgb` or `rrggbb`
  with spaces around it; `extra` may itself contain `:`.
- rooms: `room:bbb_server:type[:matrix[:key=value...]]`, the 2020 form `room:bbb_server`
  (type `session`), type `public` for rooms guests may enter, and optional `moderators=` (emails
  separated by commas or spaces) and `capacity=` (a whole number) fields after the Matrix room.

The `servers` file (`host:secret`) belongs to the BBB client, not here.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from sessions.emails import normalise_email, validate_email
from sessions.importers.base import ParsedRoom, ParsedTrack, Problems, Where, decode_lines, normalise_colour

ROOM_KINDS = ("session", "hack", "private", "public")


def _content_lines(data: bytes, source: str, problems: Problems) -> list[tuple[int, str]]:
    out = []
    for number, line in enumerate(decode_lines(data, source, problems), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append((number, line))
    return out


def parse_tracks(data: bytes, source: str, problems: Problems) -> list[ParsedTrack]:
    tracks: list[ParsedTrack] = []
    seen: dict[str, Where] = {}
    for number, line in _content_lines(data, source, problems):
        where = Where(source, line=number)
        fields = line.split(":", 3)
        if len(fields) < 2:
            problems.error(
                where,
                _("expected track:colour[:matrix_room[:extra]], found no ':' in %(line)r") % {"line": line},
            )
            continue
        name = fields[0].strip()
        colour = normalise_colour(fields[1])
        if not name:
            problems.error(where, _("the track name (before the first ':') is empty"))
            continue
        if colour is None:
            problems.error(
                where,
                _("track %(name)r: colour %(colour)r is not of the form #rrggbb")
                % {"name": name, "colour": fields[1].strip()},
            )
        if name.casefold() in seen:
            problems.error(
                where,
                _("track %(name)r is already defined at line %(line)s")
                % {"name": name, "line": seen[name.casefold()].line},
            )
            continue
        seen[name.casefold()] = where
        tracks.append(
            ParsedTrack(
                name=name,
                where=where,
                declared=True,
                colour=colour,
                matrix_room=fields[2].strip() if len(fields) > 2 else "",
                extra=fields[3].strip() if len(fields) > 3 else "",
            )
        )
    return tracks


def _emails(value: str, where: Where, problems: Problems) -> list[str]:
    emails = []
    for email in value.replace(",", " ").split():
        try:
            validate_email(email)
        except ValidationError:
            problems.error(where, _("%(email)r is not an email address") % {"email": email})
            continue
        emails.append(normalise_email(email))
    return emails


def parse_rooms(data: bytes, source: str, problems: Problems) -> list[ParsedRoom]:
    rooms: list[ParsedRoom] = []
    seen: dict[str, Where] = {}
    for number, line in _content_lines(data, source, problems):
        where = Where(source, line=number)
        fields = [f.strip() for f in line.split(":")]
        if len(fields) < 2:
            problems.error(
                where,
                _("expected room:bbb_server:type[:matrix_room], found no ':' in %(line)r") % {"line": line},
            )
            continue
        name, server = fields[0], fields[1]
        kind = fields[2].lower() if len(fields) > 2 else "session"
        matrix = fields[3] if len(fields) > 3 else ""
        if not name:
            problems.error(where, _("the room name (before the first ':') is empty"))
            continue
        if kind not in ROOM_KINDS:
            problems.error(
                where,
                _("room %(name)r: type %(kind)r is not one of %(kinds)s")
                % {"name": name, "kind": fields[2], "kinds": ", ".join(ROOM_KINDS)},
            )
        room = ParsedRoom(name=name, where=where, declared=True, kind=kind, bbb_server=server, matrix_room=matrix)
        for extra in fields[4:]:
            key, sep, value = extra.partition("=")
            key = key.strip().lower()
            if not sep:
                problems.error(
                    where,
                    _(
                        "room %(name)r: too many fields; after room:bbb_server:type:matrix_room only "
                        "moderators=... and capacity=... may follow, found %(field)r"
                    )
                    % {"name": name, "field": extra},
                )
            elif key == "moderators":
                room.moderator_emails = _emails(value, where, problems)
            elif key == "capacity":
                if value.strip().isdigit() and int(value) > 0:
                    room.capacity = int(value)
                else:
                    problems.error(
                        where,
                        _("room %(name)r: capacity %(value)r is not a positive whole number")
                        % {"name": name, "value": value},
                    )
            else:
                problems.error(
                    where,
                    _("room %(name)r: unknown field %(key)r (known: moderators, capacity)")
                    % {"name": name, "key": key},
                )
        if name.casefold() in seen:
            problems.error(
                where,
                _("room %(name)r is already defined at line %(line)s")
                % {"name": name, "line": seen[name.casefold()].line},
            )
            continue
        seen[name.casefold()] = where
        rooms.append(room)
    return rooms
