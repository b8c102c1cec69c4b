"""HEAD is answered wherever GET is (link checkers, calendar clients and monitors send HEAD first).

Walks every URL pattern of the project, fills its parameters with real objects, and compares
GET and HEAD: same status, same content type, no body for HEAD. Personas: an organiser (who sees
every page) and someone not logged in.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from sessions import feeds
from sessions.models import Room
from tests import factories

pytestmark = pytest.mark.django_db


def walk(patterns, prefix: str = "") -> list[str]:
    """Every route of the project as a string with `<converter:name>` placeholders."""
    routes = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            routes += walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            routes.append(prefix + str(entry.pattern))
    return routes


def fill(route: str, values: dict[str, str]) -> str:
    path = route.lstrip("^").rstrip("$").replace("\\Z", "")
    for name, value in values.items():
        for converter in ("", "str:", "slug:", "int:", "path:"):
            path = path.replace(f"<{converter}{name}>", value)
    return "/" + path


@pytest.fixture
def site():
    factories.conference()
    track = factories.track(name="Kernel")  # slug "kernel", like the room: one value fills both
    room = factories.room(slug="kernel", name="Kernel room", kind=Room.Kind.PUBLIC)
    now = timezone.now()
    talk = factories.talk(room, now - timedelta(minutes=5), now + timedelta(minutes=30), track=track)
    organiser = factories.person("orla@example.org", "organiser", "Orla", "Organiser")
    key, signature = feeds.personal_feed_url(organiser).rsplit("/", 2)[-2:]
    return organiser, {
        "slug": "kernel",
        "room_slug": "kernel",
        "pk": str(talk.pk),
        "day": talk.start.date().isoformat(),
        "key": key,
        "signature": signature.removesuffix(".ics"),
        "call": "getMeetings",
        "record_id": "no-such-recording",
        "role": "tracks",
        "txn_id": "1",
        "user_id": "@nobody:lpcfe.test",
        "alias": "#nowhere:lpcfe.test",
    }


def test_every_get_page_answers_head(site):
    organiser, values = site
    routes = [r for r in walk(get_resolver().url_patterns) if not r.startswith("admin/")]
    assert "api/schedule.json" in routes and "schedule.ics" in routes  # the walk sees the whole project
    paths = [fill(route, values) for route in routes]
    assert not [p for p in paths if "<" in p], "a route parameter has no test value"
    organiser_client = Client()
    organiser_client.force_login(organiser)
    compared = 0
    for who, client in (("organiser", organiser_client), ("anonymous", Client())):
        for path in paths:
            got = client.get(path)
            if got.status_code == 405:
                continue  # POST-only: nothing to HEAD
            head = client.head(path)
            assert head.status_code == got.status_code, f"HEAD {path} as {who}: {head.status_code} != {got.status_code}"
            assert head.get("Content-Type") == got.get("Content-Type"), path
            assert head.content == b"", path
            compared += 1
    assert compared >= 20


@pytest.mark.parametrize(
    "path", ["/api/schedule.json", "/schedule.ics", "/tracks/kernel.ics", "/login/", "/login/code-again/"]
)
def test_feeds_api_and_login_answer_head(site, path):
    answer = Client().head(path)
    assert answer.status_code == 200
    assert answer.content == b""
