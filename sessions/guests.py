"""Guest mode: a run-time switch organisers flip, and the name-only guest sessions it allows.

A guest has no Django user: their chosen name, already marked "(guest)", lives in their signed
session under GUEST_SESSION_KEY. Guests may join only public rooms (sessions.joinrules).
Switching guest mode off ends every guest session at its next request (GuestSessionMiddleware).
"""

import logging
import time
import unicodedata
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from sessions.models import GuestMode
from sessions.people import GUEST_SESSION_KEY

logger = logging.getLogger(__name__)

NAME_MIN = 2
NAME_MAX = 40
# Every process re-reads the switch at most this often; a flip takes effect everywhere within it.
CACHE_SECONDS = 5.0
_cached: tuple[float, bool] | None = None


def is_on() -> bool:
    global _cached
    now = time.monotonic()
    if _cached is None or now - _cached[0] > CACHE_SECONDS:
        row = GuestMode.objects.filter(pk=1).first()
        _cached = (now, bool(row and row.enabled))
    return _cached[1]


def set_mode(enabled: bool, changed_by: str) -> None:
    global _cached
    GuestMode.objects.update_or_create(pk=1, defaults={"enabled": enabled, "changed_by": changed_by})
    _cached = None
    logger.info("Guest mode switched %s by %s", "on" if enabled else "off", changed_by)


def forget_cached() -> None:
    """Drop this process's copy of the switch (after the admin saved the row)."""
    global _cached
    _cached = None


def marker() -> str:
    return _("(guest)")


def clean_name(raw: str) -> str:
    """A guest's display name, or ValidationError: control characters dropped, spaces collapsed."""
    text = unicodedata.normalize("NFC", raw)
    # Control, format (e.g. bidi overrides, zero-width) and unassigned characters can disguise a name.
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    text = " ".join(text.split())
    if len(text) < NAME_MIN:
        raise ValidationError(_("Please enter a name of at least %(min)d characters."), params={"min": NAME_MIN})
    if len(text) > NAME_MAX:
        raise ValidationError(_("Please keep your name to %(max)d characters."), params={"max": NAME_MAX})
    if marker().casefold() in text.casefold() or "(guest)" in text.casefold():
        raise ValidationError(_("Please enter just your name; we add the guest marker ourselves."))
    return text


def comparable_name(name: str) -> str:
    """The form two names are compared in: compatibility-folded, case-folded, spaces collapsed."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    return " ".join(text.split())


def start_session(request: HttpRequest, name: str) -> str:
    """Make this browser a guest called `name` (marked as a guest); returns the displayed name."""
    display = f"{name} {marker()}"
    request.session.cycle_key()
    request.session[GUEST_SESSION_KEY] = display
    request.session.set_expiry(settings.LOGIN_GUEST_SESSION_HOURS * 3600)
    return display


class GuestSessionMiddleware:
    """Ends a guest session at its next request once guest mode is off."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.get(GUEST_SESSION_KEY) and not is_on():
            if request.user.is_authenticated:
                session.pop(GUEST_SESSION_KEY)
            else:
                logout(request)  # sends user_logged_out, so per-session resources (chat tokens) are released
            messages.info(request, _("Guest access has ended. Registered attendees can still log in."))
        return self.get_response(request)
