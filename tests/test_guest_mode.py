"""Guest mode: organisers switch it at run time; guests get a name-only session for public rooms."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from sessions import guests
from sessions.joinrules import decide
from sessions.models import GuestMode, Room
from sessions.people import GUEST_SESSION_KEY, viewer_for
from tests import factories
from tests.test_login import log_in, write_people

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_state(db):
    cache.clear()
    guests.forget_cached()
    yield
    guests.forget_cached()


@pytest.fixture(params=[pytest.param("ldap", marks=pytest.mark.ldap), "local"])
def people(request, tmp_path, db):
    if request.param == "ldap":
        request.getfixturevalue("ldap_directory")
    call_command("import_attendees", str(write_people(tmp_path / "people.tsv")), "--no-progress")
    return request.param


@pytest.fixture
def organiser(people) -> Client:
    client = Client()
    assert log_in(client, "orla@example.org", "ORL-9ve1-50qa").status_code == 302
    return client


def switch(client: Client, on: bool, **extra):
    return client.post(reverse("guest_mode"), {"enabled": "1" if on else "0", "next": "/profile/"}, **extra)


def join_as_guest(client: Client, name: str):
    return client.post(reverse("guest_login"), {"name": name})


def test_guest_mode_is_off_by_default(client, people):
    assert not guests.is_on()
    page = client.get(reverse("login")).content.decode()
    assert "Join as guest" not in page
    response = join_as_guest(client, "Visitor")
    assert response.status_code == 302
    assert GUEST_SESSION_KEY not in client.session
    assert "Guest access is not open" in client.get(reverse("login")).content.decode()


def test_organiser_switches_guest_mode_from_the_form(organiser):
    profile = organiser.get(reverse("profile")).content.decode()
    assert f'action="{reverse("guest_mode")}"' in profile  # the include, as on the status page
    assert "Switch guest mode on" in profile
    response = switch(organiser, True)
    assert response.status_code == 302 and response["Location"] == "/profile/"
    assert guests.is_on()
    assert GuestMode.objects.get().changed_by == "orla@example.org"
    assert "Switch guest mode off" in organiser.get(reverse("profile")).content.decode()
    switch(organiser, False)
    assert not guests.is_on()


def test_only_organisers_may_switch(people, client):
    assert switch(client, True).status_code == 403  # anonymous
    attendee = Client()
    log_in(attendee, "ada@example.org", "ADA-7cq3-93kd")
    assert switch(attendee, True).status_code == 403
    assert attendee.get(reverse("guest_mode")).status_code == 405
    assert not guests.is_on()


def test_switch_needs_a_csrf_token(people):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(User.objects.create(username="boss@example.org", is_staff=True))
    assert switch(strict, True).status_code == 403
    assert not guests.is_on()


def test_organiser_switches_guest_mode_in_the_admin(organiser):
    assert organiser.get(reverse("admin:lpc_sessions_guestmode_changelist")).status_code == 200
    url = reverse("admin:lpc_sessions_guestmode_change", args=[1])
    response = organiser.post(url, {"enabled": "on"})
    assert response.status_code == 302
    assert guests.is_on()
    organiser.post(url, {})
    assert not guests.is_on()


def test_guest_joins_with_a_name_and_only_public_rooms_open(client, organiser):
    switch(organiser, True)
    page = client.get(reverse("login")).content.decode()
    assert "Join as guest" in page
    response = join_as_guest(client, "  Visiting\u202e  Reader\x1b\u200b ")
    assert response.status_code == 302
    assert client.session[GUEST_SESSION_KEY] == "Visiting Reader (guest)"
    profile = client.get(reverse("profile"))
    assert profile.status_code == 200
    viewer = viewer_for(profile.wsgi_request)
    assert (viewer.role, viewer.display_name) == ("guest", "Visiting Reader (guest)")
    assert "Visiting Reader (guest)" in profile.content.decode()

    factories.conference(timezone="UTC")
    now = datetime.now(UTC)
    public = factories.room(slug="town-hall", name="Town hall", kind=Room.Kind.PUBLIC)
    session = factories.room(slug="hall-a", name="Hall A", kind=Room.Kind.SESSION)
    for room in (public, session):
        factories.talk(room, now - timedelta(minutes=5), now + timedelta(minutes=40))
    assert decide(public, viewer, now).allowed
    refused = decide(session, viewer, now)
    assert not refused.allowed and refused.reason == "Guests may only join public rooms."
    # A guest is not a staff member and has no way into the admin.
    assert client.get(reverse("admin:index")).status_code == 302


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "This field is required."),
        ("\x07", "at least 2 characters"),
        ("x" * 41, "keep your name to 40 characters"),
        ("Bob (guest)", "we add the guest marker ourselves"),
        ("ada   LOVELACE", "That is the name of a registered attendee"),
        ("Orla Ní Bhriain", "That is the name of a registered attendee"),
        ("Ｇｒａｃｅ Ｈｏｐｐｅｒ", "That is the name of a registered attendee"),  # full-width look-alike
    ],
)
def test_guest_names_are_checked(client, organiser, name, error):
    switch(organiser, True)
    response = join_as_guest(client, name)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert GUEST_SESSION_KEY not in client.session


def test_guest_name_is_escaped(client, organiser):
    switch(organiser, True)
    join_as_guest(client, "<b>Bold</b>")
    page = client.get(reverse("profile")).content.decode()
    assert "&lt;b&gt;Bold&lt;/b&gt; (guest)" in page
    assert "<b>Bold</b>" not in page


def test_switching_guest_mode_off_ends_guest_sessions(client, organiser):
    switch(organiser, True)
    join_as_guest(client, "Visitor")
    assert client.get(reverse("profile")).status_code == 200
    attendee = Client()
    log_in(attendee, "ada@example.org", "ADA-7cq3-93kd")

    switch(organiser, False)
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert GUEST_SESSION_KEY not in client.session
    assert "Guest access has ended" in client.get(reverse("login")).content.decode()
    # Switching on again does not revive the old guest session; registered people are unaffected.
    switch(organiser, True)
    assert client.get(reverse("profile")).status_code == 302
    assert attendee.get(reverse("profile")).status_code == 200


def test_guest_leaves_with_the_nav_button(client, organiser):
    switch(organiser, True)
    join_as_guest(client, "Visitor")
    nav = client.get(reverse("profile")).content.decode()
    assert "Leave" in nav
    client.post(reverse("logout"))
    assert GUEST_SESSION_KEY not in client.session
    assert client.get(reverse("profile")).status_code == 302


def test_attendee_login_replaces_a_guest_session(client, organiser):
    switch(organiser, True)
    join_as_guest(client, "Visitor")
    log_in(client, "ada@example.org", "ADA-7cq3-93kd")
    viewer = viewer_for(client.get(reverse("profile")).wsgi_request)
    assert viewer.role == "attendee"
    assert GUEST_SESSION_KEY not in client.session


def test_guest_sessions_have_their_own_expiry(client, organiser, settings):
    settings.LOGIN_GUEST_SESSION_HOURS = 3
    switch(organiser, True)
    join_as_guest(client, "Visitor")
    assert client.session.get_expiry_age() == 3 * 3600


def test_other_processes_see_a_switch_within_seconds(organiser, monkeypatch):
    switch(organiser, True)
    assert guests.is_on()
    # Another process flipped the row: this one notices once its short cache has aged.
    GuestMode.objects.filter(pk=1).update(enabled=False)
    assert guests.is_on()  # still the cached value
    monkeypatch.setattr(guests, "CACHE_SECONDS", 0.0)
    assert not guests.is_on()
