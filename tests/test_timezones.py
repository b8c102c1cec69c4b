"""Times in the viewer's zone: offsets and labels, and in Chromium with the browser's own zone."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from sessions.timezones import canonical_zone, format_offset, parse_instant, relative_label, zone_label_for_range
from tests import schedule_data

# Session -> zone -> (local start time, zone label on the session page).
EXPECTED = {
    "a": {  # 2026-10-24 10:00 UTC: Dublin and New York both on summer time
        "Europe/Dublin": ("Saturday 24 October 2026, 11:00", "Europe/Dublin, UTC+1"),
        "America/New_York": ("Saturday 24 October 2026, 06:00", "America/New_York, UTC-4"),
        "Asia/Kolkata": ("Saturday 24 October 2026, 15:30", "Asia/Kolkata, UTC+5:30"),
        "Pacific/Auckland": ("Saturday 24 October 2026, 23:00", "Pacific/Auckland, UTC+13"),
    },
    "b": {  # 2026-10-26 10:00 UTC: Dublin has changed, New York not yet
        "Europe/Dublin": ("Monday 26 October 2026, 10:00", "Europe/Dublin, UTC+0"),
        "America/New_York": ("Monday 26 October 2026, 06:00", "America/New_York, UTC-4"),
        "Asia/Kolkata": ("Monday 26 October 2026, 15:30", "Asia/Kolkata, UTC+5:30"),
        "Pacific/Auckland": ("Monday 26 October 2026, 23:00", "Pacific/Auckland, UTC+13"),
    },
    "c": {  # 2026-11-02 10:00 UTC: both on winter time
        "Europe/Dublin": ("Monday 2 November 2026, 10:00", "Europe/Dublin, UTC+0"),
        "America/New_York": ("Monday 2 November 2026, 05:00", "America/New_York, UTC-5"),
        "Asia/Kolkata": ("Monday 2 November 2026, 15:30", "Asia/Kolkata, UTC+5:30"),
        "Pacific/Auckland": ("Monday 2 November 2026, 23:00", "Pacific/Auckland, UTC+13"),
    },
}


def test_offsets_are_named_like_utc_plus_hours():
    assert format_offset(timedelta(hours=1)) == "UTC+1"
    assert format_offset(timedelta(hours=-4)) == "UTC-4"
    assert format_offset(timedelta(hours=5, minutes=30)) == "UTC+5:30"
    assert format_offset(timedelta(hours=-3, minutes=-30)) == "UTC-3:30"
    assert format_offset(timedelta(0)) == "UTC+0"


def test_range_label_names_the_change():
    dublin, new_york = ZoneInfo("Europe/Dublin"), ZoneInfo("America/New_York")
    day = (datetime(2026, 10, 24, 23, tzinfo=UTC), datetime(2026, 10, 26, 0, tzinfo=UTC))
    assert zone_label_for_range(dublin, *day) == "Europe/Dublin, UTC+1 until 02:00, then UTC+0"
    assert zone_label_for_range(new_york, *day) == "America/New_York, UTC-4"
    # The same range expressed in the zone itself (wall-clock arithmetic must not creep in).
    local = (datetime(2026, 10, 25, tzinfo=dublin), datetime(2026, 10, 26, tzinfo=dublin))
    assert zone_label_for_range(dublin, *local) == "Europe/Dublin, UTC+1 until 02:00, then UTC+0"
    spring = (datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 3, 9, 4, tzinfo=UTC))
    assert zone_label_for_range(new_york, *spring) == "America/New_York, UTC-5 until 02:00, then UTC-4"


def test_relative_labels():
    t = datetime(2026, 10, 24, 10, tzinfo=UTC)
    assert relative_label(t - timedelta(minutes=5), t, t + timedelta(hours=1)) == "starts in 5 min"
    assert relative_label(t - timedelta(minutes=4, seconds=30), t, t + timedelta(hours=1)) == "starts in 5 min"
    assert relative_label(t + timedelta(minutes=40), t, t + timedelta(hours=1)) == "ends in 20 min"
    assert relative_label(t - timedelta(minutes=80), t, t + timedelta(hours=1)) == "starts in 1 h 20 min"
    assert relative_label(t + timedelta(hours=2), t, t + timedelta(hours=1)) == "ended 1 h ago"
    assert relative_label(t - timedelta(days=2), t, t + timedelta(hours=1)) == "starts in 2 days"


def test_preview_instants():
    dublin = ZoneInfo("Europe/Dublin")
    assert parse_instant("2026-10-24T11:00+01:00", dublin) == datetime(2026, 10, 24, 10, tzinfo=UTC)
    assert parse_instant("2026-10-24T11:00 01:00", dublin) == datetime(2026, 10, 24, 10, tzinfo=UTC)  # "+" as space
    assert parse_instant("2026-10-24T11:00", dublin) == datetime(2026, 10, 24, 10, tzinfo=UTC)
    assert parse_instant("2026-10-26 10:00", dublin) == datetime(2026, 10, 26, 10, tzinfo=UTC)
    assert parse_instant("tomorrow", dublin) is None


def test_old_zone_names_map_to_current_ones():
    assert canonical_zone("Asia/Calcutta") == "Asia/Kolkata"
    assert canonical_zone("US/Eastern") == "America/New_York"
    assert canonical_zone("Europe/Dublin") == "Europe/Dublin"
    assert canonical_zone("UTC") == "UTC"


# --- in Chromium, with the browser's zone set per test ------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("zone", ["Europe/Dublin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"])
def test_the_same_sessions_show_local_times_on_both_sides_of_dst_changes(new_page, live_server, zone):
    sched = schedule_data.build()
    page = new_page(timezone_id=zone)
    for name in ("a", "b", "c"):
        talk = getattr(sched, name)
        page.goto(live_server.url + reverse("talk", args=[talk.pk]))
        # The first visit detects the zone and reloads once; later visits use the cookie.
        page.locator(f".zone-bar[data-zone='{zone}']").wait_for()
        when, label = EXPECTED[name][zone]
        assert page.locator(".talk-when").inner_text().startswith(when), (zone, name)
        assert page.locator(".talk-zone").inner_text() == label, (zone, name)
        assert page.locator(".zone-bar .zone-label").inner_text() == label


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_zone_selector_and_conference_time_one_click_away(new_page, live_server):
    sched = schedule_data.build()
    page = new_page(timezone_id="Asia/Kolkata")
    talk_url = live_server.url + reverse("talk", args=[sched.a.pk])
    page.goto(talk_url)
    page.locator(".zone-bar[data-zone='Asia/Kolkata']").wait_for()
    assert page.locator(".device-zone").is_hidden()

    page.get_by_role("button", name="Show conference time (Europe/Dublin, UTC+0)").click()
    page.locator(".zone-bar[data-zone='Europe/Dublin']").wait_for()
    assert page.url == talk_url
    assert page.locator(".talk-when").inner_text().startswith("Saturday 24 October 2026, 11:00")
    # The device's zone is one click away again.
    # (Chromium reports the old name Asia/Calcutta; the page shows the current one.)
    device = page.locator(".device-zone button")
    assert re.fullmatch(r"Use this device’s zone \(Asia/(Kolkata|Calcutta)\)", device.inner_text())
    device.click()
    page.locator(".zone-bar[data-zone='Asia/Kolkata']").wait_for()

    page.get_by_role("link", name="Change time zone").click()
    page.get_by_label("Show times in").select_option("America/New_York")
    page.get_by_role("button", name="Save").click()
    assert page.url == talk_url
    assert page.locator(".talk-zone").inner_text() == "America/New_York, UTC-4"
    assert page.locator(".talk-when").inner_text().startswith("Saturday 24 October 2026, 06:00")
    # Remembered on the next visit.
    page.goto(live_server.url + reverse("talk", args=[sched.c.pk]))
    assert page.locator(".talk-zone").inner_text() == "America/New_York, UTC-5"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_day_grid_in_the_viewer_zone_with_the_dst_change_named(new_page, live_server):
    from tests import factories

    sched = schedule_data.build()
    factories.talk(
        sched.hall_a,
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        title="Across the change",
        external_id="night",
    )
    page = new_page(timezone_id="Europe/Dublin")
    page.goto(live_server.url + reverse("schedule_day", args=["2026-10-25"]))
    page.locator(".zone-bar[data-zone='Europe/Dublin']").wait_for()
    assert page.locator(".zone-label").inner_text() == "Europe/Dublin, UTC+1 until 02:00, then UTC+0"
    # 00:30 UTC is 01:30 summer time; 01:30 UTC is 01:30 winter time, an hour later.
    assert page.locator("article", has_text="Across the change").locator(".when").inner_text().startswith("01:30–01:30")
