"""A speaker's day: their own sessions at the top of the now page and on their profile, in their
zone, with Join as moderator as soon as their window opens."""

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse

from tests import factories, schedule_data
from tests.schedule_data import at

live = pytest.mark.django_db(transaction=True)
pytestmark = pytest.mark.usefixtures("fresh_cache")  # an earlier test's meeting for Hall A may still be cached


@pytest.mark.browser
@live
def test_speaker_sees_their_sessions_and_joins_as_moderator_when_their_window_opens(
    bbb_double, settings, new_page, live_server
):
    settings.SCHEDULE_JOIN_OPEN_MINUTES = 10
    settings.SCHEDULE_SPEAKER_OPEN_MINUTES = 30
    settings.SCHEDULE_REFRESH_JITTER_SECONDS = 0
    schedule_data.build()
    # Session A starts at 10:00 UTC (06:00 in New York); the speaker may enter from 09:30 UTC.
    clock = {"now": at(9, 30) - timedelta(seconds=2)}
    with mock.patch("django.utils.timezone.now", side_effect=lambda: clock["now"]):
        page = new_page(timezone_id="America/New_York")
        factories.browser_login(
            page, live_server, schedule_data.SPEAKER_EMAIL, "LIN-5u2k-00aa", first_name="Linus", role="speaker"
        )
        page.locator(".zone-bar[data-zone='America/New_York']").wait_for()
        mine = page.locator(".your-sessions")
        assert mine.get_by_role("heading", name="Your sessions").is_visible()
        text = mine.inner_text()
        assert "Before the change" in text and "Sat 24 Oct, 06:00–06:45" in text and "Hall A" in text
        assert "After the change" not in text  # someone else's session
        # Your sessions come first on the page, before the rooms.
        assert page.evaluate(
            "document.querySelector('.your-sessions').compareDocumentPosition(document.querySelector('.rooms'))"
            " & Node.DOCUMENT_POSITION_FOLLOWING"
        )
        assert mine.get_by_role("button", name="Join Hall A").is_disabled()
        clock["now"] = at(9, 30) + timedelta(seconds=1)
        button = mine.locator("button.join-button:not([disabled])")
        button.wait_for(timeout=15_000)
        assert button.inner_text() == "Join as moderator"
        button.click()
        page.wait_for_url(f"{live_server.url}/rooms/hall-a/")
        assert page.frame_locator("iframe.bbb-frame").get_by_test_id("you").inner_text().endswith("MODERATOR")

        page.goto(live_server.url + reverse("profile"))
        profile = page.locator(".your-sessions")
        assert "Before the change" in profile.inner_text() and "06:00" in profile.inner_text()
        assert "Times in America/New_York." in page.locator("main").inner_text()


@pytest.mark.django_db
def test_attendees_have_no_speaker_section():
    schedule_data.build()
    client, _ = schedule_data.client_for("attendee")
    with mock.patch("django.utils.timezone.now", return_value=at(9, 40)):
        assert "Your sessions" not in client.get(reverse("now")).content.decode()
        assert "Your sessions" not in client.get(reverse("profile")).content.decode()
