"""Who is asking: the one place that turns a request into a person with a role.

Roles come from the directory at login (LDAP or the local attendee table) and are kept on
the Django user as group membership, so no request after login touches the directory.
Guests have no Django user; their chosen name lives in their signed session.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from sessions.emails import normalise_email

ROLES = ("attendee", "speaker", "moderator", "organiser")
GUEST_SESSION_KEY = "lpcfe_guest_name"


@dataclass(frozen=True)
class Viewer:
    email: str | None
    display_name: str
    role: str  # one of ROLES, or "guest", or "anonymous"

    @property
    def is_guest(self) -> bool:
        return self.role == "guest"

    @property
    def is_authenticated(self) -> bool:
        return self.role not in ("guest", "anonymous")

    @property
    def is_moderator(self) -> bool:
        """Directory moderators and organisers moderate every room."""
        return self.role in ("moderator", "organiser")

    @property
    def is_organiser(self) -> bool:
        return self.role == "organiser"


ANONYMOUS = Viewer(email=None, display_name="", role="anonymous")


def role_of(user: AbstractBaseUser) -> str:
    if user.is_superuser or user.is_staff:
        return "organiser"
    names = set(user.groups.values_list("name", flat=True))
    for role in ("organiser", "moderator", "speaker"):
        if role in names:
            return role
    return "attendee"


def viewer_for(request: HttpRequest) -> Viewer:
    user = getattr(request, "user", AnonymousUser())
    if user.is_authenticated:
        # The role costs a query; the login check, the view and the page header all ask within one
        # request. Remembered per user object, so a login or logout inside the request starts afresh.
        memo = getattr(request, "_lpcfe_viewer_memo", None)
        if memo is not None and memo[0] is user:
            return memo[1]
        name = user.get_full_name() or user.email or user.get_username()
        viewer = Viewer(email=normalise_email(user.email or user.get_username()), display_name=name, role=role_of(user))
        request._lpcfe_viewer_memo = (user, viewer)
        return viewer
    guest_name = request.session.get(GUEST_SESSION_KEY) if hasattr(request, "session") else None
    if guest_name:
        return Viewer(email=None, display_name=guest_name, role="guest")
    return ANONYMOUS
