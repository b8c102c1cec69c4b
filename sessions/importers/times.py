"""Wall-clock times to instants, honest about DST gaps and repeated hours."""

import re
import zoneinfo
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from django.utils.translation import gettext as _

_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$")


class TimeProblem(ValueError):
    """A wall-clock time that names no single instant; the message says why."""


def zone_from_name(name: str) -> tzinfo:
    """An IANA zone, `UTC`/`Z`, or a fixed offset like `+01:00`, `-0530`, `UTC+2`."""
    name = name.strip()
    if name.upper() in ("Z", "UTC", "GMT"):
        return UTC
    if m := _OFFSET.match(name):
        sign, hours, minutes = m.group(1), int(m.group(2)), int(m.group(3) or 0)
        if hours > 23 or minutes > 59:
            raise TimeProblem(_("%(name)r is not a UTC offset") % {"name": name})
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if sign == "-" else delta)
    return iana_zone(name)


def iana_zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise TimeProblem(
            _("%(name)r is not an IANA time zone (like Europe/Dublin) or a UTC offset (like +01:00)") % {"name": name}
        ) from None


def localise(naive: datetime, tz: tzinfo) -> datetime:
    """Attach `tz` to a wall-clock time; refuse times that do not exist or happen twice there."""
    if not isinstance(tz, zoneinfo.ZoneInfo):
        return naive.replace(tzinfo=tz)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        # In a gap (clocks go forward) the round trip through UTC lands on another wall-clock time.
        if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
            raise TimeProblem(
                _("%(time)s does not exist in %(zone)s (the clocks go forward then)")
                % {"time": naive.strftime("%Y-%m-%d %H:%M"), "zone": tz.key}
            )
        raise TimeProblem(
            _("%(time)s happens twice in %(zone)s (the clocks go back then); give the UTC offset, e.g. %(a)s or %(b)s")
            % {
                "time": naive.strftime("%Y-%m-%d %H:%M"),
                "zone": tz.key,
                "a": _format_offset(first.utcoffset()),
                "b": _format_offset(second.utcoffset()),
            }
        )
    return first


def _format_offset(delta: timedelta | None) -> str:
    total = int((delta or timedelta()).total_seconds() // 60)
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{sign}{total // 60:02d}:{total % 60:02d}"


def parse_duration(value: str) -> timedelta:
    """frab durations: `HH:MM`, `HH:MM:SS` or `D:HH:MM`... read as hours and minutes."""
    parts = value.strip().split(":")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise TimeProblem(_("duration %(value)r is not of the form HH:MM") % {"value": value})
    hours, minutes = int(parts[0]), int(parts[1])
    seconds = int(parts[2]) if len(parts) == 3 else 0
    if minutes > 59 or seconds > 59:
        raise TimeProblem(_("duration %(value)r is not of the form HH:MM") % {"value": value})
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def zone_for_offsets(instants: list[datetime]) -> str | None:
    """An IANA zone whose offset matches every aware instant given (their own offsets).

    One whole-hour offset gives the matching `Etc/GMT±N` zone (or UTC); mixed offsets (a DST
    change) give the first geographic zone, by region preference, that had exactly those offsets
    at those instants. None if no zone fits.
    """
    offsets = {dt.utcoffset() for dt in instants}
    if not offsets:
        return None
    if len(offsets) == 1:
        (offset,) = offsets
        minutes = int(offset.total_seconds() // 60)
        if minutes == 0:
            return "UTC"
        if minutes % 60 == 0 and -12 * 60 <= minutes <= 14 * 60:
            hours = minutes // 60
            # POSIX-style names: Etc/GMT-1 is one hour *ahead* of UTC.
            return f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"
    samples = {}
    for dt in instants:
        samples.setdefault(dt.utcoffset(), dt)
    for dt in instants:
        # Keep the first and last instant of each offset too, to pin down the change date.
        samples[(dt.utcoffset(), "last")] = dt
    probes = list(samples.values())
    regions = ("Europe/", "America/", "Asia/", "Australia/", "Pacific/", "Africa/", "Atlantic/", "Indian/")
    for region in regions:
        for name in sorted(z for z in zoneinfo.available_timezones() if z.startswith(region)):
            zone = zoneinfo.ZoneInfo(name)
            if all(dt.astimezone(zone).utcoffset() == dt.utcoffset() for dt in probes):
                return name
    return None
