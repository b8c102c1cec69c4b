from django import template

from console import notices
from sessions.models import Room

register = template.Library()


@register.inclusion_tag("console/_notices.html")
def conference_notices(room: Room | None = None) -> dict:
    """Today's notices: all of them on the now page, those about `room` (or every room) beside a session."""
    found = notices.for_room(room) if room is not None else list(notices.active())
    return {"console_notices": found}


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key)
