"""iCalendar feeds: parsed with icalendar and with vobject (an independent parser), times exact,
UID/SEQUENCE/LOCATION/URL right, personal feed by private token, reset, no token in the logs."""

import logging
import re
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import vobject
from django.test import Client
from django.urls import reverse

from sessions import feeds
from sessions.models import Star, Talk
from sessions.signals import schedule_changed
from tests import factories, schedule_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

TRICKY = "Commas, semicolons; back\\slash \u2014 “quotes” <script>alert(1)</script>\nand a second line"


@pytest.fixture
def sched():
    s = schedule_data.build()
    s.parallel.abstract = TRICKY
    s.parallel.save()
    return s


def parse_both(body: bytes) -> tuple[dict, dict]:
    """Events by UID, as each parser reads them: {uid: {field: value}}."""
    ours = {}
    for event in icalendar.Calendar.from_ical(body).walk("VEVENT"):
        ours[str(event["UID"])] = {
            "start": event.decoded("DTSTART"),
            "end": event.decoded("DTEND"),
            "summary": str(event["SUMMARY"]),
            "location": str(event["LOCATION"]),
            "url": str(event["URL"]),
            "sequence": int(event["SEQUENCE"]),
            "stamp": event.decoded("DTSTAMP"),
            "description": str(event["DESCRIPTION"]),
        }
    theirs = {}
    calendar = vobject.readOne(body.decode("utf-8"))
    for event in calendar.contents.get("vevent", []):
        theirs[event.uid.value] = {
            "start": event.dtstart.value,
            "end": event.dtend.value,
            "summary": event.summary.value,
            "location": event.location.value,
            "url": event.url.value,
            "sequence": int(event.sequence.value),
            "stamp": event.dtstamp.value,
            "description": event.description.value,
        }
    return ours, theirs


def test_conference_feed_parses_with_two_parsers_and_round_trips_times(sched, client):
    response = client.get(reverse("feed_schedule"))
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.content
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and b"\r\nVERSION:2.0\r\n" in body and b"PRODID:" in body
    ours, theirs = parse_both(body)
    talks = [t for t in Talk.objects.select_related("room") if not t.is_break]
    assert set(ours) == set(theirs) == {f"{t.external_id}@testserver" for t in talks}
    for talk in talks:
        uid = f"{talk.external_id}@testserver"
        for parsed in (ours[uid], theirs[uid]):
            assert parsed["start"] == talk.start and parsed["end"] == talk.end
            assert parsed["start"].utcoffset() == timedelta(0)
            assert parsed["summary"] == talk.title
            assert parsed["location"] == talk.room.name
            assert parsed["url"] == f"http://testserver/sessions/{talk.pk}/"
            assert parsed["sequence"] == 0
            assert parsed["stamp"].tzinfo is not None
    assert ours["lpc-p@testserver"]["summary"] == "Parallel <b>bold</b> & co"
    assert TRICKY in ours["lpc-p@testserver"]["description"]
    assert TRICKY in theirs["lpc-p@testserver"]["description"]
    assert "Coffee break" not in body.decode()  # breaks stay out of calendars


def test_track_feed_has_only_that_track(sched, client):
    ours, theirs = parse_both(client.get(reverse("feed_track", args=[sched.ks.slug])).content)
    assert set(ours) == set(theirs) == {"lpc-a@testserver", "lpc-a2@testserver", "lpc-b@testserver"}
    assert client.get(reverse("feed_track", args=["no-such-track"])).status_code == 404


def test_single_session_download(sched, client):
    response = client.get(reverse("feed_talk", args=[sched.b.pk]))
    assert response["Content-Disposition"].startswith("attachment;")
    ours, theirs = parse_both(response.content)
    assert list(ours) == list(theirs) == ["lpc-b@testserver"]
    assert ours["lpc-b@testserver"]["start"] == datetime(2026, 10, 26, 10, tzinfo=UTC)


def test_sequence_grows_when_a_session_moves(sched, client):
    sched.a.start += timedelta(hours=1)
    sched.a.end += timedelta(hours=1)
    sched.a.save()
    ours, theirs = parse_both(client.get(reverse("feed_schedule")).content)
    for parsed in (ours, theirs):
        assert parsed["lpc-a@testserver"]["sequence"] == 1
        assert parsed["lpc-a@testserver"]["start"] == datetime(2026, 10, 24, 11, tzinfo=UTC)
        assert parsed["lpc-b@testserver"]["sequence"] == 0
    # A move to another room counts too; a new title alone does not.
    sched.a.room = sched.hall_b
    sched.a.save()
    sched.a.title = "Renamed"
    sched.a.save()
    ours, _ = parse_both(client.get(reverse("feed_schedule")).content)
    assert ours["lpc-a@testserver"]["sequence"] == 2
    assert ours["lpc-a@testserver"]["location"] == "Hall B"
    # An import that manages the sequence itself (bulk update + schedule_changed) is honoured as is.
    Talk.objects.filter(pk=sched.a.pk).update(
        sequence=7, start=sched.a.start + timedelta(hours=1), end=sched.a.end + timedelta(hours=1)
    )
    schedule_changed.send(sender=None)
    ours, _ = parse_both(client.get(reverse("feed_schedule")).content)
    assert ours["lpc-a@testserver"]["sequence"] == 7


def test_unchanged_feed_answers_not_modified(sched, client):
    first = client.get(reverse("feed_schedule"))
    again = client.get(reverse("feed_schedule"), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def _personal_url(client: Client) -> str:
    html = client.get(reverse("personal")).content.decode()
    return re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', html).group(1)


def test_personal_feed_by_token_without_login(sched):
    client, user = schedule_data.client_for("attendee")
    Star.objects.create(user=user, talk_external_id="lpc-a")
    Star.objects.create(user=user, talk_external_id="lpc-c")
    url = _personal_url(client)
    assert url.startswith("http://testserver/calendar/")
    path = url.removeprefix("http://testserver")

    calendar_app = Client()  # no login, no cookies
    response = calendar_app.get(path)
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-cache"
    ours, theirs = parse_both(response.content)
    assert set(ours) == set(theirs) == {"lpc-a@testserver", "lpc-c@testserver"}

    # Someone else's stars never show up in it.
    other, other_user = schedule_data.client_for("speaker")
    Star.objects.create(user=other_user, talk_external_id="lpc-b")
    ours, _ = parse_both(calendar_app.get(path).content)
    assert "lpc-b@testserver" not in ours


def test_personal_feed_rejects_wrong_and_reset_tokens(sched, caplog):
    client, user = schedule_data.client_for("attendee")
    Star.objects.create(user=user, talk_external_id="lpc-a")
    old_path = _personal_url(client).removeprefix("http://testserver")
    key, signature = re.match(r"/calendar/([^/]+)/([^/]+)\.ics$", old_path).groups()
    calendar_app = Client()

    wrong_signature = f"/calendar/{key}/{'0' * len(signature)}.ics"
    other_key = f"/calendar/{'x' * len(key)}/{signature}.ics"
    with caplog.at_level(logging.INFO):
        for path in (wrong_signature, other_key, f"/calendar/{key}/{signature[:-1]}.ics"):
            response = calendar_app.get(path)
            assert response.status_code == 404 and b"BEGIN:VCALENDAR" not in response.content
    assert signature not in caplog.text and key not in caplog.text

    # Reset: POST only, with the CSRF token; then the old address stops working.
    assert client.get(reverse("reset_feed")).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(reverse("reset_feed")).status_code == 403
    assert calendar_app.get(old_path).status_code == 200
    response = client.post(reverse("reset_feed"))
    assert response.status_code == 302 and response["Location"] == reverse("personal")
    assert calendar_app.get(old_path).status_code == 404
    new_path = _personal_url(client).removeprefix("http://testserver")
    assert new_path != old_path
    assert calendar_app.get(new_path).status_code == 200


def test_feed_token_is_an_hmac_of_a_random_key(sched):
    _, user = schedule_data.client_for("attendee")
    token = feeds.token_for(user)
    assert len(token.key) >= 20
    assert feeds.user_for_feed(token.key, feeds.signature(token.key)) == user
    assert feeds.user_for_feed(token.key, feeds.signature(token.key + "x")) is None
    user.is_active = False
    user.save()
    assert feeds.user_for_feed(token.key, feeds.signature(token.key)) is None


def test_personal_page_needs_login(sched, client):
    response = client.get(reverse("personal"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('personal')}"
    # A guest may look, but stars and the calendar feed need a login.
    guest, _ = schedule_data.client_for("guest")
    html = guest.get(reverse("personal")).content.decode()
    assert "Log in to star sessions" in html and "feed-url" not in html
    response = client.post(reverse("reset_feed"))
    assert response.status_code == 302 and response["Location"] == reverse("personal")


def test_feeds_do_not_need_login(sched, client):
    factories.person("nobody@example.org")
    for url in (reverse("feed_schedule"), reverse("feed_track", args=[sched.tc.slug]), reverse("api_schedule")):
        assert client.get(url).status_code == 200
