"""Finding one's way: one header on every page (Status for organisers), Join wherever a session's
room is open, and our own error pages."""

import re
from unittest import mock

import pytest
from django.urls import reverse
from django.views import defaults

from sessions.models import Star
from tests import factories, schedule_data
from tests.schedule_data import at

live = pytest.mark.django_db(transaction=True)


# --- error pages ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_a_mistyped_address_gets_our_404_page(settings, debug):
    settings.DEBUG = debug
    schedule_data.build()
    client, _ = schedule_data.client_for("attendee")
    for path in ("/no-such-page/", reverse("talk", args=[999999]), reverse("schedule_day", args=["2030-01-01"])):
        response = client.get(path)
        html = response.content.decode()
        assert response.status_code == 404, path
        assert "<h1>Page not found</h1>" in html and 'class="site-header"' in html, path
        assert "URLconf" not in html and "Traceback" not in html, path
        assert reverse("now") in html and "Log out" in html, path


@pytest.mark.django_db
def test_forbidden_and_server_error_pages_are_ours(settings, rf):
    settings.DEBUG = False
    schedule_data.build()
    client, _ = schedule_data.client_for("attendee")
    response = client.get(reverse("status"))
    assert response.status_code == 403 and "<h1>Not allowed</h1>" in response.content.decode()
    # Django renders the 500 page without the request: it must still come out whole.
    response = defaults.server_error(rf.get("/"))
    html = response.content.decode()
    assert response.status_code == 500 and "<h1>Something went wrong</h1>" in html and 'href="/"' in html


# --- one header -------------------------------------------------------------------------------


NAV = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)


@pytest.mark.django_db
def test_every_page_has_the_same_header_and_organisers_get_status():
    sched = schedule_data.build()
    pages = [
        reverse("now"),
        reverse("schedule_day", args=["2026-10-24"]),
        reverse("talk", args=[sched.a.pk]),
        reverse("track", args=[sched.ks.slug]),
        reverse("personal"),
        reverse("room", args=["hall-a"]),
        reverse("profile"),
        reverse("set_timezone"),
    ]
    for persona in ("attendee", "organiser"):
        client, _ = schedule_data.client_for(persona)
        for path in pages + ([reverse("status")] if persona == "organiser" else []):
            html = client.get(path).content.decode()
            nav = NAV.search(html)
            assert nav, (persona, path)
            links = re.findall(r'<a href="([^"?]+)', nav.group(1))
            expected = [reverse("now"), reverse("schedule"), reverse("personal")]
            if persona == "organiser":
                expected.append(reverse("status"))
            assert links[: len(expected)] == expected, (persona, path, links)
            assert (reverse("status") in links) == (persona == "organiser")


# --- Join wherever a session is ------------------------------------------------------------------


@pytest.mark.browser
@live
def test_join_is_on_every_page_where_an_open_session_appears(bbb_double, settings, new_page, live_server):
    settings.SCHEDULE_JOIN_OPEN_MINUTES = 10
    sched = schedule_data.build()
    with mock.patch("django.utils.timezone.now", return_value=at(10, 20)):
        page = new_page(timezone_id="Europe/Dublin")
        user = factories.browser_login(page, live_server, "ada@example.org", "ADA-7cq3-93kd")
        Star.objects.create(user=user, talk_external_id=sched.a.external_id)
        pages = {
            "now": reverse("now"),
            "session": reverse("talk", args=[sched.a.pk]),
            "track": reverse("track", args=[sched.ks.slug]),
            "my schedule": reverse("personal"),
            "grid": reverse("schedule_day", args=["2026-10-24"]),
            "list": reverse("schedule_day", args=["2026-10-24"]) + "?view=list",
            "room": reverse("room", args=["hall-a"]),
        }
        for name, path in pages.items():
            page.goto(live_server.url + path)
            button = page.get_by_role("button", name="Join Hall A").first
            assert button.is_visible() and button.is_enabled(), name
            # The main action: a filled button, not a grey chip.
            colours = button.evaluate("b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]")
            assert colours[0] not in ("rgba(0, 0, 0, 0)", "rgb(239, 239, 239)") and colours[0] != colours[1], name
        # A session on another day has no Join, only the star.
        page.goto(live_server.url + reverse("track", args=[sched.ks.slug]))
        later = page.locator(".slot-with-actions", has_text="After the change")
        assert later.get_by_role("button", name=re.compile("^Join")).count() == 0
        assert later.locator(".star-button").count() == 1
        page.get_by_role("button", name="Join Hall A").first.click()
        page.wait_for_url(f"{live_server.url}/rooms/hall-a/")


# --- organisers preview as someone else ---------------------------------------------------------


@pytest.mark.django_db
def test_organiser_previews_as_attendee_speaker_and_guest(settings):
    settings.SCHEDULE_JOIN_OPEN_MINUTES = 10
    settings.SCHEDULE_SPEAKER_OPEN_MINUTES = 30
    schedule_data.build()
    organiser, _ = schedule_data.client_for("organiser")
    when = "?at=" + at(9, 40).isoformat().replace("+", "%2B")  # Hall A opens at 09:50 for attendees

    def hall_a(query: str) -> tuple[bool, str]:
        html = organiser.get(reverse("now") + when + query).content.decode()
        state = re.search(r'<div class="join" data-room="hall-a" data-allowed="(\w+)" data-role="(\w+)">', html)
        return state.group(1) == "true", state.group(2)

    assert hall_a("") == (True, "MODERATOR")  # organisers moderate every room
    assert hall_a("&as=attendee") == (False, "VIEWER")
    assert hall_a("&as=" + schedule_data.SPEAKER_EMAIL) == (True, "MODERATOR")  # the speaker's window is open
    html = organiser.get(reverse("now") + when + "&as=" + schedule_data.SPEAKER_EMAIL).content.decode()
    assert "Your sessions" in html and "Before the change" in html
    guest = organiser.get(reverse("now") + when + "&as=guest").content.decode()
    assert "Guests may only join public rooms." in guest
    # Links on the page keep the preview and the person previewed.
    assert "as=guest" in re.search(r'<a href="(/schedule/[^"]*)"', guest).group(1)
    # Attendees cannot preview, nor as anyone else.
    attendee, _ = schedule_data.client_for("attendee")
    html = attendee.get(reverse("now") + when + "&as=" + schedule_data.SPEAKER_EMAIL).content.decode()
    assert "Your sessions" not in html and "Preview" not in html


@pytest.mark.django_db
def test_every_page_names_the_favicon_and_it_exists(client):
    from django.contrib.staticfiles import finders

    html = client.get(reverse("login")).content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html).group(1)
    assert icon.endswith("/img/favicon.svg") and finders.find("img/favicon.svg")
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == icon


@pytest.mark.browser
@live
def test_buttons_and_inputs_share_one_shape(bbb_double, settings, new_page, live_server):
    sched = schedule_data.build()
    with mock.patch("django.utils.timezone.now", return_value=at(10, 20)):
        page = new_page(timezone_id="Asia/Kolkata")
        factories.browser_login(page, live_server, "ada@example.org", "ADA-7cq3-93kd")
        shapes = set()
        for path in (
            reverse("now"),
            reverse("talk", args=[sched.a.pk]),
            reverse("track", args=[sched.ks.slug]),
            reverse("personal"),
            reverse("profile"),
            reverse("set_timezone"),
            reverse("room", args=["hall-a"]),
        ):
            page.goto(live_server.url + path)
            found = page.evaluate(
                """() => [...document.querySelectorAll('button, a.button, input[type=text], select')]
                     .filter(e => e.offsetParent && !e.matches('.link, .link-button, [role=tab]'))
                     .map(e => [e.tagName, getComputedStyle(e).borderTopLeftRadius, getComputedStyle(e).fontFamily,
                                e.getBoundingClientRect().height])"""
            )
            assert found, path
            for tag, radius, family, height in found:
                shapes.add((radius, family))
                assert height >= 30, (path, tag, height)
        assert len(shapes) == 1, shapes
