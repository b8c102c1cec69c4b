"""Times in the viewer's zone: offsets and labels, and in Chromium with the browser's own zone."""

import re
from datetime import UTC, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from sessions.timezones import canonical_zone, format_offset, parse_instant, relative_label, zone_label_for_range
from tests import factories, schedule_data

ADA = ("ada@example.org", "ADA-7cq3-93kd")

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
    factories.browser_login(page, live_server, *ADA)
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
    factories.browser_login(page, live_server, *ADA)
    page.goto(talk_url)
    page.locator(".zone-bar[data-zone='Asia/Kolkata']").wait_for()
    assert page.locator(".device-zone").is_hidden()

    page.get_by_role("button", name="Show conference time (Europe/Dublin, UTC+1)").click()
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
    sched = schedule_data.build()
    factories.talk(
        sched.hall_a,
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        title="Across the change",
        external_id="night",
    )
    page = new_page(timezone_id="Europe/Dublin")
    factories.browser_login(page, live_server, *ADA, next_path=reverse("schedule_day", args=["2026-10-25"]))
    page.locator(".zone-bar[data-zone='Europe/Dublin']").wait_for()
    assert page.locator(".zone-label").inner_text() == "Europe/Dublin, UTC+1 until 02:00, then UTC+0"
    # 00:30 UTC is 01:30 summer time; 01:30 UTC is 01:30 winter time, an hour later.
    when = page.locator("article", has_text="Across the change").locator(".when").inner_text()
    assert when.startswith("01:30 UTC+1–01:30 UTC+0")


# --- lists group by the viewer's day; offsets named where the page's label does not (issue 13.8, 13.9)

DAY_SECTION = re.compile(r'<h2 id="day-\d+">([^<]+)</h2>(.*?)</section>', re.S)


def _sections(html: str) -> dict[str, str]:
    return {day: body for day, body in DAY_SECTION.findall(html)}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


@pytest.mark.django_db
def test_track_and_my_schedule_group_by_the_viewer_day():
    sched = schedule_data.build()
    # Sunday 25 October 23:30 in New York (UTC-4) is Monday 04:30 UTC; Saturday 21:00 is Sunday 01:00 UTC.
    sunday_night = factories.talk(
        sched.hall_b,
        datetime(2026, 10, 26, 3, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 4, 0, tzinfo=UTC),
        title="Sunday night in New York",
        track=sched.ks,
        external_id="ny-sun",
    )
    saturday_evening = factories.talk(
        sched.hall_b,
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        title="Saturday evening in New York",
        track=sched.ks,
        external_id="ny-sat",
    )
    client, user = schedule_data.client_for("attendee")
    for talk in (sunday_night, saturday_evening, sched.b):
        client.post(reverse("star", args=[talk.pk]), {"starred": "1"})
    client.cookies["lpcfe_tz"] = "America/New_York"
    for name in ("track", "personal"):
        url = reverse("track", args=[sched.ks.slug]) if name == "track" else reverse("personal")
        days = _sections(client.get(url).content.decode())
        assert "Sunday night in New York" in days["Sunday 25 October"], name
        assert "Saturday evening in New York" in days["Saturday 24 October"], name
        assert "After the change" in days["Monday 26 October"], name
        assert "Sunday night" not in days["Monday 26 October"], name
    # In Dublin the same sessions fall on Monday and Sunday.
    client.cookies["lpcfe_tz"] = "Europe/Dublin"
    days = _sections(client.get(reverse("personal")).content.decode())
    assert "Sunday night in New York" in days["Monday 26 October"]
    assert "Saturday evening in New York" in days["Sunday 25 October"]


@pytest.mark.django_db
def test_times_across_the_dublin_change_carry_their_offset():
    sched = schedule_data.build()
    # 01:30-02:00 summer time on the changeover day: 00:30-01:00 UTC, ending at 01:00 winter time.
    night = factories.talk(
        sched.hall_a,
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
        title="Half an hour before the change",
        external_id="night",
    )
    client, _ = schedule_data.client_for("attendee")
    client.cookies["lpcfe_tz"] = "Europe/Dublin"
    page = _text(client.get(reverse("talk", args=[night.pk])).content.decode())
    assert "Sunday 25 October 2026, 01:30 UTC+1–01:00 UTC+0" in page
    assert "Europe/Dublin, UTC+1 until 02:00, then UTC+0" in page
    grid = _text(client.get(reverse("schedule_day", args=["2026-10-25"])).content.decode())
    assert "01:30 UTC+1–01:00 UTC+0" in grid
    # Times the label already names stay plain.
    page = _text(client.get(reverse("talk", args=[sched.a.pk])).content.decode())
    assert "Saturday 24 October 2026, 11:00–11:45 (45 minutes)" in page


@pytest.mark.django_db
def test_lord_howe_session_across_its_change_names_both_offsets():
    sched = schedule_data.build()
    # Lord Howe goes from UTC+11 to UTC+10:30 on 4 April 2027 at 02:00 (15:00 UTC on the 3rd).
    talk = factories.talk(
        sched.hall_a,
        datetime(2027, 4, 3, 14, 0, tzinfo=UTC),
        datetime(2027, 4, 3, 16, 30, tzinfo=UTC),
        title="Across half an hour",
        external_id="howe",
    )
    client, _ = schedule_data.client_for("attendee")
    client.cookies["lpcfe_tz"] = "Australia/Lord_Howe"
    page = _text(client.get(reverse("talk", args=[talk.pk])).content.decode())
    assert "Australia/Lord_Howe, UTC+11 until 02:00, then UTC+10:30" in page
    assert "Sunday 4 April 2027, 01:00–03:00" in page


@pytest.mark.django_db
def test_conference_time_button_and_labels_name_the_offset_of_the_page_not_of_today():
    sched = schedule_data.build()
    client, _ = schedule_data.client_for("attendee")
    client.cookies["lpcfe_tz"] = "Asia/Kolkata"
    with mock.patch("django.utils.timezone.now", return_value=datetime(2026, 12, 1, 9, 0, tzinfo=UTC)):
        talk_page = _text(client.get(reverse("talk", args=[sched.a.pk])).content.decode())
        day_page = _text(client.get(reverse("schedule_day", args=["2026-10-24"])).content.decode())
        track_page = _text(client.get(reverse("track", args=[sched.ks.slug])).content.decode())
    # Saturday 24 October: Dublin is on UTC+1 (in December it is on UTC+0).
    assert "Show conference time (Europe/Dublin, UTC+1)" in talk_page
    assert "Show conference time (Europe/Dublin, UTC+1)" in day_page
    # A label for several days says on which day the change happens.
    assert "Europe/Dublin, UTC+1 until Sun 25 Oct 02:00, then UTC+0" in track_page


@pytest.mark.django_db
def test_a_moment_names_the_conference_clock_only_when_it_reads_differently(settings):
    schedule_data.build()
    client, _ = schedule_data.client_for("attendee")
    settings.SCHEDULE_JOIN_OPEN_MINUTES = 10
    cases = [
        # Winter: UTC and Dublin read the same; say it once.
        ("UTC", datetime(2026, 11, 2, 9, 40, tzinfo=UTC), "Opens Mon 2 Nov, 09:50 UTC", "in Europe/Dublin"),
        # Summer: they differ by an hour; name both, without nested brackets on the room page.
        (
            "UTC",
            datetime(2026, 10, 24, 9, 30, tzinfo=UTC),
            "Opens Sat 24 Oct, 09:50 UTC (10:50 in Europe/Dublin)",
            "((",
        ),
    ]
    for zone, now, expected, absent in cases:
        client.cookies["lpcfe_tz"] = zone
        room = "town-hall" if now.month == 11 else "hall-a"
        with mock.patch("django.utils.timezone.now", return_value=now):
            page = _text(client.get(reverse("room", args=[room])).content.decode())
        assert expected in page, (zone, now)
        assert absent not in page, (zone, now)
        assert "09:50 UTC (09:50" not in page
