"""Personal schedule: starring sessions, the front page highlighting them, no leaks between people."""

import re
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from sessions import schedule_cache
from sessions.models import Star, Talk
from tests import schedule_data
from tests.schedule_data import at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    schedule_cache.forget()


@pytest.fixture
def sched():
    return schedule_data.build()


def _csrf_post(client: Client, page: str, url: str, data: dict, **extra):
    """POST as a browser would: with the CSRF token of the page the form is on."""
    html = client.get(page).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return client.post(url, {**data, "csrfmiddlewaretoken": token}, **extra)


def test_attendee_stars_a_session_and_the_front_page_highlights_it(sched):
    client, user = schedule_data.client_for("attendee", enforce_csrf_checks=True)
    talk_page = reverse("talk", args=[sched.a.pk])
    assert client.post(reverse("star", args=[sched.a.pk]), {"starred": "1"}).status_code == 403  # no CSRF token
    response = _csrf_post(client, talk_page, reverse("star", args=[sched.a.pk]), {"starred": "1", "next": talk_page})
    assert response.status_code == 302 and response["Location"] == talk_page
    assert list(Star.objects.filter(user=user).values_list("talk_external_id", flat=True)) == ["lpc-a"]
    assert "Remove from my schedule" in client.get(talk_page).content.decode()

    with mock.patch("django.utils.timezone.now", return_value=at(10, 35)):
        html = client.get(reverse("now")).content.decode()
    starred = re.search(r'<article class="slot is-starred"[^>]*>.*?</article>', html, re.S).group(0)
    assert "Before the change" in starred and "★ In my schedule" in starred
    rooms = html[html.index('id="now-rooms"') : html.index("Next in my schedule")]
    assert rooms.count("is-starred") == 1
    assert "Next in my schedule" in html

    day = client.get(reverse("schedule_day", args=["2026-10-24"])).content.decode()
    assert f"#t-{sched.a.pk} .slot-title::before" in day
    personal = client.get(reverse("personal")).content.decode()
    assert "Before the change" in personal and "After the change" not in personal

    _csrf_post(client, talk_page, reverse("star", args=[sched.a.pk]), {"starred": "0", "next": talk_page})
    assert not Star.objects.filter(user=user).exists()


def test_stars_do_not_leak_between_people_through_the_cache(sched):
    ada, ada_user = schedule_data.client_for("attendee")
    linus, _ = schedule_data.client_for("speaker")
    Star.objects.create(user=ada_user, talk_external_id="lpc-a")
    with mock.patch("django.utils.timezone.now", return_value=at(10, 35)):
        assert "is-starred" in ada.get(reverse("now")).content.decode()
        assert "is-starred" not in linus.get(reverse("now")).content.decode()
    day = reverse("schedule_day", args=["2026-10-24"])
    assert f"#t-{sched.a.pk}" in ada.get(day).content.decode()
    assert f"#t-{sched.a.pk}" not in linus.get(day).content.decode()


def test_star_with_javascript_gets_json(sched):
    client, user = schedule_data.client_for("attendee")
    response = client.post(reverse("star", args=[sched.b.pk]), {"starred": "1"}, HTTP_ACCEPT="application/json")
    assert response.json() == {"starred": True}
    assert Star.objects.filter(user=user, talk_external_id="lpc-b").exists()


@pytest.mark.parametrize("persona", ["guest", "anonymous"])
def test_guests_and_anonymous_cannot_star(sched, persona):
    client, _ = schedule_data.client_for(persona)
    response = client.post(reverse("star", args=[sched.a.pk]), {"starred": "1"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 403 and "Log in" in response.json()["error"]
    assert not Star.objects.exists()
    assert "Add to my schedule" not in client.get(reverse("talk", args=[sched.a.pk])).content.decode()


def test_star_survives_a_session_removed_and_imported_again(sched):
    client, user = schedule_data.client_for("attendee")
    client.post(reverse("star", args=[sched.b.pk]), {"starred": "1"})
    fields = {f: getattr(sched.b, f) for f in ("external_id", "title", "start", "end", "room", "track")}
    sched.b.delete()
    html = client.get(reverse("personal")).content.decode()
    assert "1 starred session is no longer in the schedule." in html
    again = Talk.objects.create(**fields)
    html = client.get(reverse("personal")).content.decode()
    assert "After the change" in html and f'href="/sessions/{again.pk}/"' in html


def test_next_is_never_an_open_redirect(sched):
    client, _ = schedule_data.client_for("attendee")
    response = client.post(reverse("star", args=[sched.a.pk]), {"starred": "1", "next": "https://evil.example/"})
    assert response["Location"] == reverse("talk", args=[sched.a.pk])


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_star_button_in_the_browser(new_page, live_server):
    sched = schedule_data.build()
    client, user = schedule_data.client_for("attendee")
    page = new_page(timezone_id="Europe/Dublin")
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(live_server.url + reverse("talk", args=[sched.a.pk]))
    button = page.locator(".star-button")
    assert "Add to my schedule" in button.inner_text() and "☆" in button.inner_text()
    button.click()
    page.wait_for_function("document.querySelector('.star-button').classList.contains('is-on')")
    assert "Remove from my schedule" in button.inner_text()
    assert Star.objects.filter(user=user, talk_external_id="lpc-a").exists()
    page.reload()
    assert "Remove from my schedule" in page.locator(".star-button").inner_text()
