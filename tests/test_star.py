"""Personal schedule: starring sessions, the front page highlighting them, no leaks between people."""

import re
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from sessions.models import Star, Talk
from tests import factories, schedule_data
from tests.schedule_data import at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


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
    assert _grid_star(day, sched.a.pk) == "Remove from my schedule"
    assert _grid_star(day, sched.a2.pk) == "Add to my schedule"
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
    assert _grid_star(ada.get(day).content.decode(), sched.a.pk) == "Remove from my schedule"
    assert _grid_star(linus.get(day).content.decode(), sched.a.pk) == "Add to my schedule"


def _grid_star(html: str, pk: int) -> str:
    """What the star button in session `pk`'s box of the day grid offers."""
    box = re.search(rf'<article id="t-{pk}".*?</article>', html, re.S).group(0)
    return re.search(r'<span class="star-text[^"]*">([^<]+)</span>', box).group(1)


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
    page = client.get(reverse("talk", args=[sched.a.pk]))
    if persona == "anonymous":  # the session page itself needs a login or a guest session
        assert page.status_code == 302 and page["Location"].startswith(reverse("login") + "?next=")
    else:
        assert page.status_code == 200 and "<h1>Before the change</h1>" in page.content.decode()
        assert "Add to my schedule" not in page.content.decode()


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
    page = new_page(timezone_id="Europe/Dublin")
    talk_page = reverse("talk", args=[sched.a.pk])
    user = factories.browser_login(page, live_server, "ada@example.org", "ADA-7cq3-93kd", next_path=talk_page)
    button = page.locator(".star-button")
    assert "Add to my schedule" in button.inner_text() and "☆" in button.inner_text()
    button.click()
    page.locator(".star-button.is-on").wait_for()  # no string eval: the page's CSP forbids it
    assert "Remove from my schedule" in button.inner_text()
    assert Star.objects.filter(user=user, talk_external_id="lpc-a").exists()
    page.reload()
    assert "Remove from my schedule" in page.locator(".star-button").inner_text()
