"""The Django side of a login: the user row a directory entry maps onto, and ending login sessions.

A person's name and role are copied from the directory at each login and kept on the Django
user (role = group membership, organisers are also staff), so no later request needs the
directory. A role changed in the directory takes effect at the person's next login.
"""

import logging
from collections.abc import Iterable
from importlib import import_module

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sessions.people import ROLES

logger = logging.getLogger(__name__)

ROLE_GROUPS = ("speaker", "moderator", "organiser")  # attendee is the absence of a role group
NAME_MAX = 150  # Django's first_name/last_name length


def highest_role(roles: Iterable[str]) -> str:
    found = set(roles)
    for role in reversed(ROLES):
        if role in found:
            return role
    return "attendee"


def organiser_permissions() -> list[Permission]:
    """What organisers may do in the admin: everything about the event, and view/end people's logins."""
    return list(
        Permission.objects.filter(
            Q(content_type__app_label__in=("lpc_sessions", "chat_embed"))
            | Q(content_type__app_label="auth", codename__in=("view_user", "change_user", "view_group"))
        )
    )


def get_or_create_user(email: str) -> tuple[User, bool]:
    """The user named after `email` (any case), created with no usable password if new.

    Safe when the same person's first two logins race (a double click during the herd).
    """
    user = User.objects.filter(username__iexact=email).first()
    if user is not None:
        return user, False
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=email, defaults={"email": email, "password": "!"})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user, created


@transaction.atomic
def sync_user(email: str, first_name: str, last_name: str, role: str) -> User:
    """Create or update the Django user for a directory entry; username is the normalised email."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    user, _created = get_or_create_user(email)
    user.username = email
    user.email = email
    user.first_name = first_name[:NAME_MAX]
    user.last_name = last_name[:NAME_MAX]
    # Superusers made by hand keep their staff flag; everyone else is staff exactly when organiser.
    user.is_staff = role == "organiser" or user.is_superuser
    user.save()

    wanted = set() if role == "attendee" else {role}
    current = set(user.groups.filter(name__in=ROLE_GROUPS).values_list("name", flat=True))
    if current != wanted:
        user.groups.remove(*Group.objects.filter(name__in=current - wanted))
        for name in wanted - current:
            group, _created = Group.objects.get_or_create(name=name)
            user.groups.add(group)
    if role == "organiser":
        group = Group.objects.get(name="organiser")
        permissions = organiser_permissions()
        if set(group.permissions.all()) != set(permissions):
            group.permissions.set(permissions)
    return user


def end_login_sessions(users: Iterable[User]) -> int:
    """Log these people out everywhere; returns how many sessions were ended.

    Deletes their stored sessions, and also rotates the session hash of directory users
    (who have no usable password) so a session in any other store stops working too.
    """
    user_ids = {str(user.pk) for user in users}
    ended = []
    if issubclass(import_module(settings.SESSION_ENGINE).SessionStore, db.SessionStore):
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
            if session.get_decoded().get("_auth_user_id") in user_ids:
                ended.append(session.pk)
        Session.objects.filter(pk__in=ended).delete()
    for user in User.objects.filter(pk__in=user_ids):
        if not user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
    logger.info("Ended %d login session(s) of %d person(s)", len(ended), len(user_ids))
    return len(ended)
