"""Guests in BBB: a guest joins with guest=true, so the BBB server's own guest policy applies to
them; registered people join without it."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bbb_simulator.models import SimAttendee
from sessions import guests
from sessions.models import GuestMode, Room
from tests import factories

live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def town_hall(settings):
    cache.clear()
    guests.forget_cached()
    GuestMode.objects.update_or_create(pk=1, defaults={"enabled": True})
    factories.conference(timezone="UTC")
    room = factories.room(slug="town-hall", name="Town hall", kind=Room.Kind.PUBLIC)
    now = timezone.now()
    factories.talk(room, now - timedelta(minutes=5), now + timedelta(minutes=40), title="Open session")
    yield room
    cache.clear()
    guests.forget_cached()


def _join(client: Client, room: Room) -> str:
    assert client.post(f"/rooms/{room.slug}/join/").status_code == 303
    return client.get(f"/rooms/{room.slug}/enter/")["Location"]


@live
def test_guest_joins_bbb_as_a_guest_and_attendees_do_not(bbb_double, town_hall):
    gwen = Client()
    assert gwen.post(reverse("guest_login"), {"name": "Gwen Visitor"}).status_code == 302
    url = _join(gwen, town_hall)
    query = parse_qs(urlsplit(url).query)
    assert query["guest"] == ["true"] and query["fullName"][0].startswith("Gwen Visitor")
    assert 'data-testid="guest"' in requests.get(url, timeout=5).text
    assert SimAttendee.objects.get(full_name__startswith="Gwen Visitor").guest is True

    ada = Client()
    ada.force_login(factories.person("ada@example.org", first_name="Ada", last_name="Lovelace"))
    url = _join(ada, town_hall)
    assert "guest" not in parse_qs(urlsplit(url).query)
    requests.get(url, timeout=5)
    assert SimAttendee.objects.get(full_name="Ada Lovelace").guest is False
