"""The day grid in Chromium: every room of a day reachable at 1280 px with the times kept in view,
the "now" line, and Join and the star on the sessions themselves."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.urls import reverse

from sessions.models import Star
from tests import factories

live = pytest.mark.django_db(transaction=True)
NOW = datetime(2026, 10, 24, 10, 20, tzinfo=UTC)  # 11:20 in Dublin


def nine_rooms() -> None:
    factories.conference(timezone="Europe/Dublin")
    kernel = factories.track("Kernel Summit", "#1f6feb")
    for n in range(1, 10):
        room = factories.room(f"room-{n}", f"Room {n}", position=n)
        factories.talk(
            room, NOW - timedelta(minutes=20), NOW + timedelta(minutes=25), f"Talk in room {n}", track=kernel
        )
        factories.talk(room, NOW + timedelta(minutes=30), NOW + timedelta(minutes=75), f"Later in room {n}")


@pytest.mark.browser
@live
def test_grid_shows_every_room_of_the_day_with_the_time_column_in_view(bbb_double, new_page, live_server, settings):
    settings.SCHEDULE_JOIN_OPEN_MINUTES = 10
    nine_rooms()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        page = new_page(timezone_id="Europe/Dublin", viewport={"width": 1280, "height": 800})
        day = reverse("schedule_day", args=["2026-10-24"])
        user = factories.browser_login(page, live_server, "ada@example.org", "ADA-7cq3-93kd", next_path=day)
        headers = page.locator(".grid-room")
        assert headers.count() == 9
        first_time = page.locator(".grid-time").first
        for n in range(9):
            header = headers.nth(n)
            header.scroll_into_view_if_needed()
            box, times = header.bounding_box(), first_time.bounding_box()
            assert box["x"] >= times["x"] + times["width"] - 1 and box["x"] + box["width"] <= 1280, n
            assert 0 <= times["x"] < 80, f"the time column scrolled away with room {n + 1}"
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 1280  # only the grid scrolls

        # The "now" line, and Join and the star on the session itself.
        label = page.locator(".now-line .now-label")
        assert label.is_visible() and label.inner_text() == "Now 11:20"
        box = label.bounding_box()
        assert 0 <= box["x"] < 1280, "the now label scrolled away with the rooms"
        box = page.locator("article", has_text="Talk in room 9")
        box.scroll_into_view_if_needed()
        assert box.get_by_role("button", name="Join Room 9").is_enabled()
        star = box.locator(".star-button")
        star.click()
        box.locator(".star-button.is-on").wait_for()
        assert Star.objects.filter(user=user).count() == 1
        box.get_by_role("button", name="Join Room 9").click()
        page.wait_for_url(f"{live_server.url}/rooms/room-9/")
