"""The viewer's time zone: which one, how it is named on the page, and relative time labels.

The browser reports its IANA zone on the first visit (static/js/lpcfe.js writes it to a
cookie); the viewer can change it with the selector, which writes the same cookie. Without
a valid cookie, pages show the conference's own zone. The middleware activates the zone for
the whole request, so every template (ours and the join buttons) renders in it.
"""

import functools
import logging
import math
import re
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from importlib import resources
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sessions.models import Conference

logger = logging.getLogger(__name__)

COOKIE_NAME = "lpcfe_tz"
COOKIE_MAX_AGE = 365 * 24 * 3600
# Regions shown in the selector; any other valid IANA name (e.g. an old alias a browser
# reports) is still accepted from the cookie.
SELECTOR_REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


@functools.cache
def _available() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_valid_zone(name: str) -> bool:
    return bool(name) and name in _available()


def _tzdata_source() -> str:
    """The tz database's source summary (tzdata.zi), from the system or the tzdata package."""
    for path in [Path(p) / "tzdata.zi" for p in zoneinfo.TZPATH]:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return resources.files("tzdata").joinpath("zoneinfo", "tzdata.zi").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        logger.warning("No tzdata.zi found: old zone names (e.g. Asia/Calcutta) are shown as the browser reports them.")
        return ""


@functools.cache
def _links() -> dict[str, str]:
    """Old or alternative zone names and the zone each stands for ("Asia/Calcutta" -> "Asia/Kolkata")."""
    links = {}
    for line in _tzdata_source().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    return links


def canonical_zone(name: str) -> str:
    """The current name of a zone; browsers still report some old ones (Chromium: Asia/Calcutta)."""
    if name == "UTC":
        return name
    target = _links().get(name, name)
    return target if is_valid_zone(target) else name


@functools.cache
def selector_zones() -> list[tuple[str, list[str]]]:
    """Zones for the selector, grouped by region: [("Europe", ["Europe/Amsterdam", ...]), ...]."""
    groups: dict[str, list[str]] = {}
    links = _links()
    for name in sorted(_available()):
        region = name.split("/", 1)[0]
        if region in SELECTOR_REGIONS and "/" in name and name not in links:
            groups.setdefault(region, []).append(name)
    return [("UTC", ["UTC"])] + sorted(groups.items())


def conference_zone() -> zoneinfo.ZoneInfo:
    conference = Conference.current()
    return conference.tz if conference else zoneinfo.ZoneInfo("UTC")


def viewer_zone(request: HttpRequest) -> zoneinfo.ZoneInfo:
    """The zone this viewer chose or whose browser reported it; else the conference's."""
    name = request.COOKIES.get(COOKIE_NAME, "")
    if is_valid_zone(name):
        return zoneinfo.ZoneInfo(canonical_zone(name))
    return request_conference_zone(request)


def request_conference_zone(request: HttpRequest) -> zoneinfo.ZoneInfo:
    """conference_zone(), looked up once per request."""
    if not hasattr(request, "_lpcfe_conference_zone"):
        request._lpcfe_conference_zone = conference_zone()
    return request._lpcfe_conference_zone


def remember_zone(response: HttpResponse, name: str) -> None:
    response.set_cookie(COOKIE_NAME, name, max_age=COOKIE_MAX_AGE, samesite="Lax", path="/")


class TimezoneMiddleware:
    """Activates the viewer's zone for the request (request.viewer_zone)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = viewer_zone(request)
        request.viewer_zone = zone
        # As the browser or the selector named it (maybe an old alias), for the page's script.
        request.viewer_zone_requested = request.COOKIES.get(COOKIE_NAME, "")
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def format_offset(offset: timedelta | None) -> str:
    """UTC+1, UTC-4, UTC+5:30, UTC+0."""
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{mins:02d}" if mins else "")


def zone_name(tz: tzinfo) -> str:
    return getattr(tz, "key", None) or str(tz)


def zone_label(tz: tzinfo, at: datetime) -> str:
    """ "Europe/Dublin, UTC+1": the zone and its offset at instant `at`."""
    if zone_name(tz) == "UTC":
        return "UTC"
    return f"{zone_name(tz)}, {format_offset(at.astimezone(tz).utcoffset())}"


def offset_change(tz: tzinfo, start: datetime, end: datetime) -> datetime | None:
    """The first instant in [start, end) where `tz` changes its UTC offset, to the minute; None if it doesn't."""
    # Work in UTC: arithmetic between datetimes sharing a zone is wall-clock arithmetic in Python.
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    before = start.astimezone(tz).utcoffset()
    if end.astimezone(tz).utcoffset() == before:
        return None  # zones change at most twice a year; a day range holds at most one change
    low, high = start, end
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high.replace(second=0, microsecond=0)


def zone_label_for_range(tz: tzinfo, start: datetime, end: datetime) -> str:
    """Like zone_label, but says so when the offset changes inside the range (a DST change).

    The change is named with its day when the range covers more than one local day.
    """
    change = offset_change(tz, start, end)
    if change is None:
        return zone_label(tz, start)
    before = start.astimezone(tz).utcoffset() or timedelta(0)
    # The wall-clock time at which the change happens, as read before it (02:00 when clocks go back).
    wall = change.astimezone(UTC).replace(tzinfo=None) + before
    last = (end - timedelta(microseconds=1)).astimezone(tz)
    one_day = start.astimezone(tz).date() == last.date()
    return _("%(zone)s, %(before)s until %(time)s, then %(after)s") % {
        "zone": zone_name(tz),
        "before": format_offset(before),
        "time": wall.strftime("%H:%M") if one_day else formats.date_format(wall, "D j M H:i"),
        "after": format_offset(change.astimezone(tz).utcoffset()),
    }


def label_offset(tz: tzinfo, start: datetime, end: datetime | None = None) -> timedelta | None:
    """The one offset a page's zone label names for [start, end); None when it names a change."""
    if end is not None and offset_change(tz, start, end) is not None:
        return None
    return start.astimezone(tz).utcoffset()


def is_ambiguous(tz: tzinfo, at: datetime) -> bool:
    """True when the wall-clock time of `at` in `tz` happens twice (the hour clocks go back)."""
    local = at.astimezone(tz)
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def offset_note(tz: tzinfo, at: datetime, page_offset: timedelta | None) -> str:
    """The offset to print beside a time: where the page's label does not already say it.

    `page_offset` is the one offset the page's label names, or None when the label names a change
    (then only a time that reads the same on both sides of the change needs its offset).
    """
    offset = at.astimezone(tz).utcoffset()
    if is_ambiguous(tz, at) or (page_offset is not None and offset != page_offset):
        return format_offset(offset)
    return ""


def format_span(delta: timedelta) -> str:
    """A rounded-up duration for relative labels: "5 min", "1 h 20 min", "3 days"."""
    minutes = max(1, math.ceil(delta.total_seconds() / 60))
    if minutes < 60:
        return ngettext("%(n)d min", "%(n)d min", minutes) % {"n": minutes}
    if minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        text = ngettext("%(n)d h", "%(n)d h", hours) % {"n": hours}
        return text + (" " + ngettext("%(n)d min", "%(n)d min", rest) % {"n": rest} if rest else "")
    days = round(minutes / (24 * 60))
    return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


def relative_label(at: datetime, start: datetime, end: datetime) -> str:
    """ "starts in 5 min", "ends in 20 min", "ended 3 min ago" relative to instant `at`."""
    if at < start:
        return _("starts in %(span)s") % {"span": format_span(start - at)}
    if at < end:
        return _("ends in %(span)s") % {"span": format_span(end - at)}
    return _("ended %(span)s ago") % {"span": format_span(at - end)}


def relative_strings() -> dict[str, str]:
    """The same phrases for the page's script, which keeps relative labels current between updates."""
    return {
        "starts": _("starts in %(span)s"),
        "ends": _("ends in %(span)s"),
        "ended": _("ended %(span)s ago"),
        "min": _("%(n)d min"),
        "h": _("%(n)d h"),
        "day": _("%(n)d day"),
        "days": _("%(n)d days"),
    }


_PLUS_AS_SPACE = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def parse_instant(value: str, default_zone: tzinfo) -> datetime | None:
    """An ISO 8601 instant; without an offset it is read in `default_zone`. None if unreadable."""
    # An unencoded "+02:00" in a query string arrives as " 02:00".
    text = _PLUS_AS_SPACE.sub(r"\1+\2", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_zone)
    return parsed.astimezone(UTC)
