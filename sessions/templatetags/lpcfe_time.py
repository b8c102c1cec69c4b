"""Times on pages: one hour cycle everywhere, and the offset beside a time wherever the page's
zone label does not already name it (across a DST change, or on another day's offset)."""

from datetime import datetime

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from sessions.timezones import conference_zone, offset_note, zone_name

register = template.Library()

# 24-hour everywhere, as the chat's timestamps (chat.js asks Intl.DateTimeFormat for hourCycle h23).
TIME = "H:i"


@register.simple_tag(takes_context=True)
def clock(context: template.Context, instant: datetime | None, fmt: str = TIME) -> SafeString | str:
    """<time> with `instant` in the viewer's zone, plus its offset where the page's label differs."""
    if instant is None:
        return ""
    tz = timezone.get_current_timezone()
    local = instant.astimezone(tz)
    text = formats.date_format(local, fmt)
    note = offset_note(tz, instant, context.get("label_offset"))
    return format_html('<time datetime="{}">{}</time>', local.isoformat(), f"{text} {note}" if note else text)


@register.simple_tag
def zoned(instant: datetime | None) -> SafeString | str:
    """A moment on a page without a zone bar: day, time and zone, plus the conference's clock
    when it reads differently ("Sat 24 Oct, 06:00 America/New_York (11:00 in Europe/Dublin)")."""
    if instant is None:
        return ""
    tz = timezone.get_current_timezone()
    local = instant.astimezone(tz)
    shown = format_html(
        '<time datetime="{}" class="when">{} {}</time>',
        local.isoformat(),
        formats.date_format(local, f"D j M, {TIME}"),
        zone_name(tz),
    )
    conf = conference_zone()
    there = instant.astimezone(conf)
    if there.utcoffset() == local.utcoffset():
        return shown
    same_day = there.date() == local.date()
    there_text = _("%(time)s in %(zone)s") % {
        "time": formats.date_format(there, TIME if same_day else f"D {TIME}"),
        "zone": zone_name(conf),
    }
    return format_html("{} ({})", shown, there_text)
