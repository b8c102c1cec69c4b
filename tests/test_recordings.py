"""Recordings matched to sessions: a session runs on the BBB double, its meeting ends, the
recording appears on the session page once published, and organisers publish or unpublish it."""

import re
from datetime import timedelta

import pytest
import requests
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from bbb_simulator.models import SimApiCall, SimRecording
from sessions import bbb, meetings, recordings
from tests import factories

live = pytest.mark.django_db(transaction=True)
LINK = re.compile(r'<a class="button recording-link" href="([^"]+)"[^>]*>([^<]+)</a>')


@pytest.fixture
def session(settings, fresh_cache):
    """Hall A with a session running now (Linus speaking) and another later in the day."""
    settings.SCHEDULE_JOIN_OPEN_MINUTES = 10
    settings.SCHEDULE_SPEAKER_OPEN_MINUTES = 30
    factories.conference(name="Plumbers", timezone="Europe/Dublin")
    room = factories.room(slug="hall-a", name="Hall A")
    now = timezone.now()
    talk = factories.talk(
        room,
        now - timedelta(minutes=5),
        now + timedelta(minutes=40),
        title="Scheduling",
        external_id="lpc-42",
        speaker_names=["Linus"],
        speaker_emails=["linus@example.org"],
    )
    later = factories.talk(
        room, now + timedelta(hours=3), now + timedelta(hours=4), title="Later", external_id="lpc-43"
    )
    return talk, later


def _run_session(talk) -> None:
    """The speaker joins the meeting on the double, the session ends, the moderator ends the meeting."""
    linus = factories.client_for("linus@example.org", "speaker")
    assert 'class="role">MODERATOR' in requests.get(factories.join_url(linus, talk.room), timeout=5).text
    bbb.end(bbb.server_for(talk.room), meetings.meeting_id_for(talk.room))
    ended = timezone.now()
    type(talk).objects.filter(pk=talk.pk).update(start=ended - timedelta(minutes=46), end=ended - timedelta(minutes=1))


def _links(client: Client, talk) -> list[tuple[str, str]]:
    page = client.get(f"/sessions/{talk.pk}/")
    assert page.status_code == 200
    return LINK.findall(page.content.decode())


def _csrf(client: Client, talk) -> str:
    client.get(f"/sessions/{talk.pk}/")
    return client.cookies["csrftoken"].value


@live
def test_recording_is_matched_by_tag_and_published_by_an_organiser(bbb_double, session):
    talk, later = session
    _run_session(talk)
    recording = SimRecording.objects.get()
    assert recording.metadata["lpcfe-session"] == "lpc-42" and recording.metadata["lpcfe-room"] == "hall-a"

    attendee = factories.client_for("ada@example.org")
    ((url, label),) = _links(attendee, talk)
    assert label == "Watch the recording"
    assert "This recording" not in requests.get(url, timeout=5).text
    assert 'data-testid="playback"' in requests.get(url, timeout=5).text
    assert _links(attendee, later) == []  # another session of the same room: not its recording

    orla = factories.client_for("orla@example.org", "organiser", enforce_csrf_checks=True)
    token = _csrf(orla, talk)
    assert (
        orla.post(f"/sessions/{talk.pk}/recordings/", {"record_id": recording.record_id, "publish": "0"}).status_code
        == 403
    )  # no CSRF token
    answer = orla.post(
        f"/sessions/{talk.pk}/recordings/",
        {"record_id": recording.record_id, "publish": "0", "csrfmiddlewaretoken": token},
    )
    assert answer.status_code == 302
    assert SimRecording.objects.get().published is False  # the double recorded publishRecordings
    assert _links(attendee, talk) == []
    assert requests.get(url, timeout=5).status_code == 404  # BBB no longer plays it
    assert "Publish the recording" in orla.get(f"/sessions/{talk.pk}/").content.decode()

    orla.post(
        f"/sessions/{talk.pk}/recordings/",
        {"record_id": recording.record_id, "publish": "1", "csrfmiddlewaretoken": token},
    )
    assert [label for _, label in _links(attendee, talk)] == ["Watch the recording"]


@live
def test_attendees_cannot_publish(bbb_double, session):
    talk, _ = session
    _run_session(talk)
    recording = SimRecording.objects.get()
    ada = factories.client_for("ada@example.org")
    refused = ada.post(f"/sessions/{talk.pk}/recordings/", {"record_id": recording.record_id, "publish": "0"})
    assert refused.status_code == 403 and SimRecording.objects.get().published is True


@live
def test_get_recordings_is_cached_and_a_broken_server_shows_no_link(bbb_double, session, settings):
    talk, _ = session
    _run_session(talk)
    attendee = factories.client_for("ada@example.org")
    for _ in range(3):
        assert len(_links(attendee, talk)) == 1
    assert SimApiCall.objects.filter(call="getRecordings").count() == 1  # the page reuses the answer

    cache.clear()
    settings.BBB_SIMULATOR = False
    settings.BBB_URL = bbb_double.api_url
    settings.BBB_SECRET = "not-the-secret"
    assert _links(attendee, talk) == []  # checksumError: the page still renders, without a link
    assert SimApiCall.objects.filter(call="getRecordings", outcome="checksumError").count() == 1
    assert recordings.room_recordings(talk.room) is None
    assert SimApiCall.objects.filter(call="getRecordings").count() == 2  # a failure is not asked again at once


def test_recording_xml_becomes_a_dataclass():
    from defusedxml import ElementTree

    root = ElementTree.fromstring(
        """<response><returncode>SUCCESS</returncode><recordings><recording><recordID>abc-1</recordID>
        <meetingID>hall-a</meetingID><name>Hall A</name><published>true</published><state>published</state>
        <startTime>1000</startTime><endTime>61000</endTime><metadata><lpcfe-session>lpc-42</lpcfe-session></metadata>
        <playback><format><type>presentation</type><url>https://bbb.example.org/playback/presentation/2.3/abc-1</url>
        </format></playback></recording></recordings></response>"""
    )
    (found,) = [bbb._recording(e) for e in root.findall("recordings/recording")]
    assert found.record_id == "abc-1" and found.published and found.metadata == {"lpcfe-session": "lpc-42"}
    assert found.playback_url == "https://bbb.example.org/playback/presentation/2.3/abc-1"


def test_a_meeting_that_ran_on_through_the_next_session_counts_for_it_too():
    from datetime import UTC, datetime

    from sessions.models import Talk

    start = datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    first = Talk(external_id="lpc-42", start=start, end=start + timedelta(minutes=45))
    second = Talk(external_id="lpc-43", start=start + timedelta(minutes=45), end=start + timedelta(minutes=90))

    def recording(minutes: int) -> bbb.Recording:
        ms = int(start.timestamp() * 1000)
        return bbb.Recording(
            "r", "hall-a", "Hall A", True, "published", ms, ms + minutes * 60_000, {"lpcfe-session": "lpc-42"}
        )

    assert recordings.belongs_to(recording(46), first) and not recordings.belongs_to(recording(46), second)
    assert recordings.belongs_to(recording(60), second)  # 15 minutes into the next session
