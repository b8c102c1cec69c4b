"""Small builders for schedule data and people, shared by the feature tests."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client

from sessions import guests
from sessions.models import Conference, Room, Talk, Track
from sessions.people import GUEST_SESSION_KEY


def conference(name: str = "Plumbers Test Conference", timezone: str = "Europe/Dublin") -> Conference:
    return Conference.objects.create(name=name, timezone=timezone)


def track(name: str = "Kernel Summit", colour: str = "#1f6feb", matrix_room: str = "kernel-summit") -> Track:
    slug = name.lower().replace(" ", "-")
    return Track.objects.create(name=name, slug=slug, colour=colour, matrix_room=matrix_room)


def room(slug: str = "hall-a", name: str = "Hall A", kind: str = Room.Kind.SESSION, **kwargs) -> Room:
    return Room.objects.create(slug=slug, name=name, kind=kind, **kwargs)


def talk(room: Room, start: datetime, end: datetime, title: str = "A talk", **kwargs) -> Talk:
    external_id = kwargs.pop("external_id", f"{room.slug}-{start.isoformat()}")
    return Talk.objects.create(room=room, start=start, end=end, title=title, external_id=external_id, **kwargs)


def person(email: str, role: str = "attendee", first_name: str = "", last_name: str = "") -> User:
    """A Django user as login creates them: username = email, role as group membership."""
    user = User.objects.create_user(username=email, email=email, first_name=first_name, last_name=last_name)
    if role == "organiser":
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    if role != "attendee":
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def guest_client(name: str = "Visitor", **client_kwargs) -> Client:
    """A test client holding a guest session, with guest mode switched on (it ends guest sessions when off)."""
    guests.set_mode(True, changed_by="tests")
    client = Client(**client_kwargs)
    session = client.session
    session[GUEST_SESSION_KEY] = name
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client
