"""Schedule pages: now and next, day grid, track and session pages, caching, preview, a11y basics."""

import re
from datetime import timedelta
from unittest import mock
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions import agenda
from sessions.joinrules import decide
from sessions.models import Conference, Talk
from sessions.people import ANONYMOUS, Viewer, viewer_for
from sessions.signals import schedule_changed
from tests import factories, schedule_data
from tests.schedule_data import A_START, at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

DUBLIN = ZoneInfo("Europe/Dublin")
VIEWERS = {
    "attendee": Viewer("ada@example.org", "Ada", "attendee"),
    "speaker": Viewer(schedule_data.SPEAKER_EMAIL, "Linus", "speaker"),
    "organiser": Viewer("org@example.org", "Olga", "organiser"),
    "guest": Viewer(None, "Visitor", "guest"),
    "anonymous": ANONYMOUS,
}
JOIN_DIV = re.compile(
    r'<div class="join" data-room="([^"]+)" data-allowed="(true|false)" data-role="(\w+)">(.*?)</div>', re.S
)


@pytest.fixture
def sched(settings):
    settings.SCHEDULE_JOIN_OPEN_MINUTES = 10
    settings.SCHEDULE_SPEAKER_OPEN_MINUTES = 30
    return schedule_data.build()


def frozen(instant):
    """Server time fixed at `instant` (Django's clock, not our code)."""
    return mock.patch("django.utils.timezone.now", return_value=instant)


def login_redirect(path: str) -> str:
    return f"{reverse('login')}?next={quote(path, safe='/')}"


def join_states(html: str) -> dict[str, tuple[bool, str, str]]:
    return {room: (allowed == "true", role, body) for room, allowed, role, body in JOIN_DIV.findall(html)}


def test_now_page_lists_current_and_next_per_room(sched):
    client, _ = schedule_data.client_for("attendee")
    with frozen(at(10, 35)):
        html = client.get(reverse("now")).content.decode()
    assert html.count("<h1>") == 1
    hall_a = html[html.index("Hall A") : html.index("Hall B")]
    assert "Before the change" in hall_a and "ends in 10 min" in hall_a
    assert "Coffee break" in hall_a and "starts in 10 min" in hall_a
    assert "Second talk" not in hall_a  # only now and next
    assert "Parallel &lt;b&gt;bold&lt;/b&gt; &amp; co" in html
    assert "<b>bold</b>" not in html
    # The conference's zone until the browser tells us otherwise: 10:35 UTC is 11:35 in Dublin.
    assert "Europe/Dublin, UTC+1" in html
    assert ">11:00</time>–<time" in html


def test_nothing_on_says_when_the_conference_resumes_in_the_viewer_zone(sched):
    client, _ = schedule_data.client_for("attendee")
    client.cookies["lpcfe_tz"] = "America/New_York"
    with frozen(at(20, 0)):  # Saturday evening: next is Monday 10:00 UTC
        html = client.get(reverse("now")).content.decode()
    assert "Nothing is on right now. The conference resumes" in html
    assert "Monday 26 October, 06:00" in html  # New York is still on summer time (UTC-4)
    assert "America/New_York, UTC-4" in html
    assert "After the change" in html
    assert "starts in 2 days" in html


def test_after_the_last_session_the_page_says_so(sched):
    client, _ = schedule_data.client_for("attendee")
    with frozen(at(12, 0, day=3, month=11)):
        html = client.get(reverse("now")).content.decode()
    assert "The conference is over" in html


@pytest.mark.parametrize("persona", ["attendee", "speaker", "organiser", "guest", "anonymous"])
def test_join_buttons_match_the_server_rules(sched, persona):
    client, _ = schedule_data.client_for(persona)
    if persona == "anonymous":
        # No buttons to compare: the front page is for people who logged in or joined as guests.
        with frozen(A_START):
            response = client.get(reverse("now"))
        assert response.status_code == 302 and response["Location"] == login_redirect(reverse("now"))
        assert decide(sched.hall_a, ANONYMOUS, A_START).allowed is False
        return
    instants = [A_START - timedelta(minutes=m) for m in (45, 31, 30, 20, 10, 9)]
    instants += [at(10, 40), at(11, 29), at(11, 30), at(9, 58, day=2, month=11), at(10, 44, day=2, month=11)]
    for instant in instants:
        with frozen(instant):
            states = join_states(client.get(reverse("now")).content.decode())
        for room in (sched.hall_a, sched.hall_b, sched.town_hall):
            expected = decide(room, VIEWERS[persona], instant)
            if room.slug not in states:
                # A room is left off the page only when nothing more is on in it today.
                assert not expected.allowed and expected.opens_at is None, (persona, instant, room.slug)
                continue
            allowed, role, body = states[room.slug]
            assert allowed == expected.allowed, (persona, instant, room.slug)
            assert role == expected.role, (persona, instant, room.slug)
            if not expected.allowed and expected.opens_at:
                assert expected.opens_at.astimezone(DUBLIN).strftime("%H:%M") in body


def test_organiser_preview_with_at_and_attendees_cannot(sched):
    organiser, _ = schedule_data.client_for("organiser")
    html = organiser.get(reverse("now"), {"at": "2026-10-24T11:40+01:00"}).content.decode()
    assert "preview-banner" in html and "Before the change" in html
    assert join_states(html)["hall-a"][0] is True
    # Naive instants are read in the conference's zone.
    html = organiser.get(reverse("now"), {"at": "2026-10-24T11:40"}).content.decode()
    assert "Before the change" in html
    html = organiser.get(reverse("now"), {"at": "not-a-date"}).content.decode()
    assert "Could not read ?at=" in html

    attendee, _ = schedule_data.client_for("attendee")
    with frozen(at(12, 0, day=3, month=11)):
        html = attendee.get(reverse("now"), {"at": "2026-10-24T11:40+01:00"}).content.decode()
    assert "preview-banner" not in html and "Before the change" not in html


def test_cached_join_state_does_not_leak_from_speaker_to_attendee(sched):
    speaker, _ = schedule_data.client_for("speaker")
    attendee, _ = schedule_data.client_for("attendee")
    instant = A_START - timedelta(minutes=20)  # speakers may enter, attendees not yet
    with frozen(instant):
        speaker_state = join_states(speaker.get(reverse("now")).content.decode())["hall-a"]
        attendee_state = join_states(attendee.get(reverse("now")).content.decode())["hall-a"]
        speaker_again = join_states(speaker.get(reverse("now")).content.decode())["hall-a"]
    assert speaker_state[:2] == (True, "MODERATOR") == speaker_again[:2]
    assert attendee_state[:2] == (False, "VIEWER")


def test_now_state_is_cached_and_invalidated_by_schedule_changed(sched, django_assert_max_num_queries):
    client, _ = schedule_data.client_for("attendee")
    with frozen(at(10, 35)):
        client.get(reverse("now"))
        Talk.objects.filter(pk=sched.a.pk).update(title="Renamed quietly")  # no model signals
        assert "Before the change" in client.get(reverse("now")).content.decode()
        schedule_changed.send(sender=None)
        assert "Renamed quietly" in client.get(reverse("now")).content.decode()


def test_now_page_cost_does_not_grow_with_schedule_size(sched, django_assert_max_num_queries):
    client, _ = schedule_data.client_for("attendee")
    with frozen(at(10, 35)):
        client.get(reverse("now"))  # fills the cache
        with django_assert_max_num_queries(10):
            client.get(reverse("now"))


def test_the_conference_is_read_once_per_request_and_afresh_after_a_change(sched):
    client, _ = schedule_data.client_for("attendee")
    with frozen(at(10, 35)), CaptureQueriesContext(connection) as queries:
        client.get(reverse("now"))
    conference_reads = [q for q in queries.captured_queries if 'FROM "lpc_sessions_conference"' in q["sql"]]
    assert len(conference_reads) == 1
    conference = Conference.current()
    conference.name = "Renamed Conference"
    conference.save()
    with frozen(at(10, 35)):
        assert "Renamed Conference" in client.get(reverse("now")).content.decode()


def test_the_viewer_is_worked_out_once_per_request_and_per_user(rf, django_assert_num_queries):
    ada = factories.person("ada@example.org", first_name="Ada")
    olga = factories.person("org@example.org", "organiser", first_name="Olga")
    request = rf.get("/")
    request.user = ada
    with django_assert_num_queries(1):  # the group lookup, once
        assert viewer_for(request).role == "attendee"
        assert viewer_for(request).role == "attendee"
    request.user = olga  # a login inside the request: the new person, not the remembered one
    assert viewer_for(request) == Viewer("org@example.org", "Olga", "organiser")


def test_admin_edit_invalidates_and_grows_sequence(sched):
    client, _ = schedule_data.client_for("attendee")
    with frozen(at(10, 35)):
        client.get(reverse("now"))
        sched.a.end = at(10, 50)
        sched.a.save()
        assert "ends in 15 min" in client.get(reverse("now")).content.decode()
    sched.a.refresh_from_db()
    assert sched.a.sequence == 1


def test_state_endpoint_names_the_next_boundary(sched):
    client, _ = schedule_data.client_for("attendee")
    with frozen(A_START - timedelta(minutes=45)):
        data = client.get(reverse("now_state")).json()
    assert data["next_boundary"] == (A_START - timedelta(minutes=30)).isoformat()  # speakers may enter
    assert data["refresh_after"] == 600  # 15 minutes away, capped at ten
    assert 'data-room="hall-a"' in data["html"]
    with frozen(at(10, 40)):
        data = client.get(reverse("now_state")).json()
    assert data["next_boundary"] == at(10, 45).isoformat()
    assert data["refresh_after"] == 300
    assert data["zone_label"] == "Europe/Dublin, UTC+1"


def test_boundary_inside_the_current_minute_waits_for_the_next_minute(sched):
    client, _ = schedule_data.client_for("attendee")
    with frozen(at(10, 44) + timedelta(seconds=59, microseconds=500_000)):
        data = client.get(reverse("now_state")).json()
    assert data["refresh_after"] == 1


def test_now_page_without_javascript_refreshes_itself(sched):
    client, _ = schedule_data.client_for("attendee")
    with frozen(at(10, 40)):
        html = client.get(reverse("now")).content.decode()
    seconds = int(re.search(r'<noscript><meta http-equiv="refresh" content="(\d+)"></noscript>', html).group(1))
    assert 300 + 5 <= seconds <= 300 + 60


def test_day_page_has_rooms_as_columns_breaks_and_the_current_time(sched):
    organiser, _ = schedule_data.client_for("organiser")
    url = reverse("schedule_day", args=["2026-10-24"])
    html = organiser.get(url, {"at": "2026-10-24T10:50Z"}).content.decode()
    assert html.count("<h1>") == 1 and "Schedule for Saturday 24 October 2026" in html
    columns = re.findall(r'<div class="grid-room" style="grid-row: 1; grid-column: (\d+)">([^<]+)</div>', html)
    assert columns == [("2", "Hall A"), ("3", "Hall B")]
    assert 'class="slot grid-slot break' in html and "Coffee break" in html
    now_line = re.search(r'<div class="now-line" style="grid-row: (\d+);', html)
    assert now_line and ">11:50</time>" in html[now_line.start() :]
    # Rows are 5 minutes from 10:00 UTC (row 2): the break runs 10:45-11:00, rows 11 to 14.
    assert re.search(rf'id="t-{sched.coffee.pk}" class="slot grid-slot break[^"]*" style="grid-row: 11 / 14;', html)
    assert "Parallel &lt;b&gt;bold&lt;/b&gt; &amp; co" in html


def test_overlapping_sessions_in_one_room_share_its_column_in_lanes(sched):
    """Imported with --allow-overlaps: two sessions at once in Hall A get half its column each."""
    clash = factories.talk(sched.hall_a, at(10, 15), at(10, 40), title="Clashing talk", external_id="clash")
    client, _ = schedule_data.client_for("attendee")
    html = client.get(reverse("schedule_day", args=["2026-10-24"])).content.decode()
    styles = dict(re.findall(r'<article id="t-(\d+)" class="([^"]*)"', html))
    lanes = dict(re.findall(r'<article id="t-(\d+)"[^>]*--lane: (\d+); --lanes: 2;', html))
    assert lanes == {str(sched.a.pk): "0", str(clash.pk): "1"}
    assert "overlap" in styles[str(sched.a.pk)].split() and "overlap" in styles[str(clash.pk)].split()
    assert "overlap" not in styles[str(sched.a2.pk)].split() and "overlap" not in styles[str(sched.parallel.pk)].split()


def test_day_boundaries_follow_the_conference_zone(sched):
    client, _ = schedule_data.client_for("attendee")
    client.cookies["lpcfe_tz"] = "Pacific/Auckland"
    html = client.get(reverse("schedule_day", args=["2026-10-24"])).content.decode()
    # 10:00 UTC on the conference's Saturday is 23:00 on Saturday in Auckland; 11:00 UTC is Sunday 00:00.
    assert ">23:00</time>" in html and ">Sun 00:00</time>" in html
    assert "Pacific/Auckland, UTC+13" in html
    assert client.get(reverse("schedule_day", args=["2026-10-25"])).status_code == 404
    assert client.get(reverse("schedule_day", args=["yesterday"])).status_code == 404


def test_day_page_names_a_dst_change_inside_the_day(sched):
    client, _ = schedule_data.client_for("attendee")
    factories.talk(sched.hall_a, at(9, 0, day=25), at(9, 30, day=25), title="Sunday talk", external_id="sun")
    html = client.get(reverse("schedule_day", args=["2026-10-25"])).content.decode()
    assert "Europe/Dublin, UTC+1 until 02:00, then UTC+0" in html


def test_schedule_redirects_to_the_current_or_first_day(sched):
    client, _ = schedule_data.client_for("attendee")
    with frozen(at(8, 0, day=1, month=9)):
        assert client.get(reverse("schedule"))["Location"] == reverse("schedule_day", args=["2026-10-24"])
    with frozen(at(8, 0, day=26)):
        assert client.get(reverse("schedule"))["Location"] == reverse("schedule_day", args=["2026-10-26"])


def test_empty_schedule_says_so():
    client, _ = schedule_data.client_for("attendee")
    html = client.get(reverse("schedule")).content.decode()
    assert "No sessions have been published yet." in html
    assert "No sessions have been published yet." in client.get(reverse("now")).content.decode()


def test_session_page(sched):
    client, _ = schedule_data.client_for("guest")
    with frozen(at(10, 20)):
        html = client.get(reverse("talk", args=[sched.a.pk])).content.decode()
    assert "<h1>Before the change</h1>" in html
    assert "Saturday 24 October 2026, 11:00" in html and "45 minutes" in html
    assert "Hall A" in html and "Linus T." in html
    assert "First line.<br>Second line with &lt;b&gt;tags&lt;/b&gt; &amp; &lt;script&gt;" in html
    assert reverse("feed_talk", args=[sched.a.pk]) in html
    assert 'data-allowed="false"' in html  # a guest: Hall A is not a public room


def test_session_page_in_another_zone_shows_the_conference_time_too(sched):
    client, _ = schedule_data.client_for("attendee")
    client.cookies["lpcfe_tz"] = "Asia/Kolkata"
    html = client.get(reverse("talk", args=[sched.a.pk])).content.decode()
    assert "Saturday 24 October 2026, 15:30" in html and "Asia/Kolkata, UTC+5:30" in html
    assert "Conference time: Sat 24 Oct, 11:00–11:45 (Europe/Dublin, UTC+1)" in html


def test_track_page(sched):
    client, _ = schedule_data.client_for("attendee")
    html = client.get(reverse("track", args=[sched.ks.slug])).content.decode()
    assert "<h1>Kernel Summit</h1>" in html
    assert "Before the change" in html and "After the change" in html and "Parallel" not in html
    assert reverse("feed_track", args=[sched.ks.slug]) in html
    assert client.get(reverse("track", args=["nope"])).status_code == 404


def test_pages_need_a_login_or_guest_session_but_feeds_and_the_api_do_not(sched, client):
    protected = [
        reverse("now"),
        reverse("schedule"),
        reverse("schedule_day", args=["2026-10-24"]),
        reverse("schedule_day", args=["2026-10-24"]) + "?view=list",
        reverse("track", args=[sched.ks.slug]),
        reverse("talk", args=[sched.a.pk]),
        reverse("personal"),
    ]
    for path in protected:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == login_redirect(path), path
    assert client.get(reverse("now_state")).status_code == 302
    # The login page brings the person back to where they were going.
    assert (
        f'name="next" value="{reverse("track", args=[sched.ks.slug])}"'
        in client.get(login_redirect(reverse("track", args=[sched.ks.slug]))).content.decode()
    )
    public = [
        reverse("feed_schedule"),
        reverse("feed_track", args=[sched.ks.slug]),
        reverse("feed_talk", args=[sched.a.pk]),
        reverse("api_schedule"),
    ]
    for path in public:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Before the change" in response.content.decode(), path
    # A guest session is enough for the pages.
    guest, _ = schedule_data.client_for("guest")
    for path in protected:
        response = guest.get(path)
        if path == reverse("schedule"):  # on to a day page, not to the login page
            assert response.status_code == 302 and response["Location"].startswith(reverse("schedule") + "2026-")
        else:
            assert response.status_code == 200, path


def test_json_api_shape(sched, client):
    response = client.get(reverse("api_schedule"))
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["version"] == 1
    assert data["conference"]["timezone"] == "Europe/Dublin"
    assert [t["slug"] for t in data["tracks"]] == ["kernel-summit", "toolchains"]
    session = next(s for s in data["sessions"] if s["id"] == "lpc-a")
    assert session == {
        "id": "lpc-a",
        "title": "Before the change",
        "start": "2026-10-24T10:00:00Z",
        "end": "2026-10-24T10:45:00Z",
        "room": "hall-a",
        "track": "kernel-summit",
        "speakers": ["Linus T."],
        "abstract": sched.a.abstract,
        "is_break": False,
        "sequence": 0,
        "url": "http://testserver" + reverse("talk", args=[sched.a.pk]),
        "source_url": None,
    }
    assert "linus@example.org" not in response.content.decode()
    assert client.get(reverse("api_schedule"), HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_time_zone_selector(sched, client):
    page = client.get(reverse("set_timezone"), {"next": "/schedule/"}).content.decode()
    assert '<label for="zone-select">' in page and '<option value="Asia/Kolkata">' in page
    assert '<option value="Asia/Calcutta">' not in page  # old names are not offered
    response = client.post(reverse("set_timezone"), {"zone": "Asia/Kolkata", "next": "/schedule/"})
    assert response.status_code == 302 and response["Location"] == "/schedule/"
    assert response.cookies["lpcfe_tz"].value == "Asia/Kolkata"
    response = client.post(reverse("set_timezone"), {"zone": "conference", "next": "https://evil.example/"})
    assert response["Location"] == reverse("now")
    assert response.cookies["lpcfe_tz"].value == "Europe/Dublin"
    response = client.post(reverse("set_timezone"), {"zone": "Mars/Olympus_Mons"})
    assert response.status_code == 200 and "is not a time zone this server knows" in response.content.decode()


def test_an_old_zone_name_from_the_browser_is_shown_by_its_current_name(sched):
    client, _ = schedule_data.client_for("attendee")
    client.cookies["lpcfe_tz"] = "Asia/Calcutta"
    html = client.get(reverse("talk", args=[sched.a.pk])).content.decode()
    assert "Asia/Kolkata, UTC+5:30" in html and 'data-zone-requested="Asia/Calcutta"' in html


def test_a_bad_zone_cookie_falls_back_to_the_conference_zone(sched):
    client, _ = schedule_data.client_for("attendee")
    client.cookies["lpcfe_tz"] = "<script>"
    html = client.get(reverse("now")).content.decode()
    assert "Europe/Dublin, UTC" in html and "<script>" not in html.split("lpcfe-strings")[0].split("<body>")[1]


def test_special_emails_are_computed_once_per_version(sched):
    assert schedule_data.SPEAKER_EMAIL in agenda.special_emails()
    with mock.patch.object(agenda, "_special_emails", side_effect=AssertionError("recomputed")):
        agenda.special_emails()


# --- in the browser ---------------------------------------------------------------------------


def _login(page, live_server) -> None:
    """Ada logs in through the login form, registered with the import command like everyone else."""
    factories.browser_login(page, live_server, "ada@example.org", "ADA-7cq3-93kd", first_name="Ada")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_at_320px_have_no_horizontal_scroll_and_basic_accessibility(new_page, live_server, settings):
    sched = schedule_data.build()
    page = new_page(timezone_id="Asia/Kolkata", viewport={"width": 320, "height": 700})
    _login(page, live_server)
    paths = [
        reverse("now") + "",
        reverse("schedule_day", args=["2026-10-24"]),
        reverse("schedule_day", args=["2026-10-24"]) + "?view=list",
        reverse("talk", args=[sched.a.pk]),
        reverse("track", args=[sched.ks.slug]),
        reverse("personal"),
        reverse("set_timezone"),
    ]
    for path in paths:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 320, path
        assert page.locator("h1").count() == 1, path
        assert page.evaluate("document.documentElement.lang") == "en", path
        assert page.locator("a.skip[href='#main']").count() == 1 and page.locator("main#main").count() == 1
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                 .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.outerHTML)"""
        )
        assert unlabelled == [], path
        assert page.locator(".zone-label").first.inner_text().startswith("Asia/Kolkata, UTC+5:30"), path
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_now_page_updates_itself_at_the_next_boundary(new_page, live_server, settings):
    settings.SCHEDULE_REFRESH_JITTER_SECONDS = 0
    schedule_data.build()
    clock = {"now": at(10, 45) - timedelta(seconds=2)}
    with mock.patch("django.utils.timezone.now", side_effect=lambda: clock["now"]):
        page = new_page(timezone_id="Europe/Dublin")
        _login(page, live_server)
        page.goto(live_server.url + reverse("now"))
        card = page.locator(".room-card", has_text="Hall A")
        assert card.locator(".slot", has_text="Before the change").locator(".badge").inner_text() == "NOW"
        clock["now"] = at(10, 45) + timedelta(seconds=1)
        card.locator(".slot", has_text="Coffee break").locator(".badge.live").wait_for(timeout=10_000)
        assert card.locator(".slot", has_text="Second talk").count() == 1


@pytest.mark.parametrize("persona", ["attendee", "speaker"])
def test_session_page_join_button_matches_the_server_rules(sched, persona):
    client, _ = schedule_data.client_for(persona)
    for instant in (A_START - timedelta(minutes=20), A_START - timedelta(minutes=5), at(10, 44)):
        with frozen(instant):
            html = client.get(reverse("talk", args=[sched.a.pk])).content.decode()
        allowed, role, body = join_states(html)["hall-a"]
        expected = decide(sched.hall_a, VIEWERS[persona], instant)
        assert (allowed, role) == (expected.allowed, expected.role), (persona, instant)
    # On another day the page says when the button will appear instead.
    with frozen(at(10, 0, day=23)):
        html = client.get(reverse("talk", args=[sched.a.pk])).content.decode()
    assert "The join button appears here on Saturday 24 October." in html and 'class="join"' not in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_overlapping_sessions_are_drawn_side_by_side_not_on_top(new_page, live_server):
    sched = schedule_data.build()
    clash = factories.talk(sched.hall_a, at(10, 15), at(10, 40), title="Clashing talk", external_id="clash")
    page = new_page(timezone_id="Europe/Dublin", viewport={"width": 1280, "height": 900})
    _login(page, live_server)
    page.goto(live_server.url + reverse("schedule_day", args=["2026-10-24"]))
    first = page.locator(f"#t-{sched.a.pk}").bounding_box()
    second = page.locator(f"#t-{clash.pk}").bounding_box()
    column = page.locator(".grid-room", has_text="Hall A").bounding_box()
    assert first["y"] < second["y"] < first["y"] + first["height"], "the two sessions are at once"
    assert first["x"] + first["width"] <= second["x"] + 1, "side by side, not on top of each other"
    for box in (first, second):
        assert column["x"] - 1 <= box["x"] and box["x"] + box["width"] <= column["x"] + column["width"] + 1
        assert box["width"] > 40
