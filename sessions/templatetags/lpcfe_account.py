"""Who is looking at the page, and the guest switch, for templates (the nav and the guest-mode form)."""

from django import template

from sessions import guests
from sessions.people import Viewer, viewer_for

register = template.Library()


@register.simple_tag(takes_context=True)
def current_viewer(context) -> Viewer | None:
    request = context.get("request")
    return viewer_for(request) if request is not None else None


@register.simple_tag
def guest_mode_on() -> bool:
    return guests.is_on()
