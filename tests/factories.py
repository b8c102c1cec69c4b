"""Small builders for schedule data and people, shared by the feature tests."""

import io
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone as django_timezone

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


def talk_now(room: Room, title: str = "A talk", **kwargs) -> Talk:
    """A session that began five minutes ago and runs forty more: its room is open to Join."""
    now = django_timezone.now()
    return talk(room, now - timedelta(minutes=5), now + timedelta(minutes=40), title, **kwargs)


def person(email: str, role: str = "attendee", first_name: str = "", last_name: str = "") -> User:
    """A Django user as login creates them: username = email, role as group membership."""
    user = User.objects.create_user(username=email, email=email, first_name=first_name, last_name=last_name)
    if role == "organiser":
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    if role != "attendee":
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def client_for(
    email: str, role: str = "attendee", first_name: str = "", last_name: str = "", **client_kwargs
) -> Client:
    """A test client logged in as a new person (see person)."""
    client = Client(**client_kwargs)
    client.force_login(person(email, role, first_name, last_name))
    return client


def join_url(client: Client, room: Room) -> str:
    """POST Join, then load the room page's BBB frame source: the signed join URL it redirects to."""
    answer = client.post(f"/rooms/{room.slug}/join/")
    assert answer.status_code == 303 and answer["Location"] == f"/rooms/{room.slug}/", answer
    frame = client.get(f"/rooms/{room.slug}/enter/")
    assert frame.status_code == 302, frame
    return frame["Location"]


def guest_client(name: str = "Visitor", **client_kwargs) -> Client:
    """A test client holding a guest session made through the real guest form, with guest mode
    switched on (it ends guest sessions when off)."""
    guests.set_mode(True, changed_by="tests")
    client = Client(**client_kwargs)
    client.get(reverse("login"))  # the CSRF cookie, as a browser gets it
    answer = client.post(
        reverse("guest_login"), {"name": name, "csrfmiddlewaretoken": client.cookies[settings.CSRF_COOKIE_NAME].value}
    )
    assert answer.status_code == 302 and client.session.get(GUEST_SESSION_KEY), f"guest login as {name!r} failed"
    return client


def import_attendee(
    email: str, code: str, first_name: str = "Ada", last_name: str = "Lovelace", role: str = "attendee"
) -> None:
    """Register one person the way organisers do: a TSV export loaded with `manage.py import_attendees`
    (into the local attendee table unless a test points LDAP_URI at slapd)."""
    with tempfile.TemporaryDirectory(prefix="lpcfe-attendees-") as folder:
        path = Path(folder) / "attendees.tsv"
        path.write_text(
            f"first name\tlast name\tregcode\temail\trole\n{first_name}\t{last_name}\t{code}\t{email}\t{role}\n"
        )
        call_command("import_attendees", str(path), "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())


def browser_login(
    page,
    live_server,
    email: str,
    code: str,
    *,
    first_name: str = "Ada",
    last_name: str = "Lovelace",
    role: str = "attendee",
    next_path: str | None = None,
) -> User:
    """Import the person with the real command, then log in through the real login form in the browser.

    Lands on `next_path` (default: the front page, where a login without `next` goes) and returns the
    user the login created.
    """
    import_attendee(email, code, first_name, last_name, role)
    landing = next_path or reverse(settings.LOGIN_REDIRECT_URL)
    login_url = live_server.url + reverse("login")
    page.goto(login_url + (f"?next={quote(next_path)}" if next_path else ""))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Registration code").fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in", exact=True).click()
    if page.url != live_server.url + landing:
        errors = page.locator(".form-errors")
        detail = errors.inner_text() if errors.count() else f"ended on {page.url}"
        raise AssertionError(f"Logging in as {email} did not land on {landing}: {detail}")
    return User.objects.get(username=email.strip().lower())
