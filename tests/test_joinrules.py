"""Join windows and roles decided by the server (sessions.joinrules)."""

from datetime import UTC, datetime, timedelta

import pytest

from sessions.joinrules import MODERATOR, VIEWER, decide
from sessions.models import Room
from sessions.people import ANONYMOUS, Viewer
from tests import factories

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 9, 21, 9, 0, tzinfo=UTC)
ATTENDEE = Viewer("ada@example.org", "Ada", "attendee")
SPEAKER = Viewer("linus@example.org", "Linus", "speaker")
GUEST = Viewer(None, "Visitor (guest)", "guest")


@pytest.fixture
def hall(settings):
    settings.SCHEDULE_JOIN_OPEN_MINUTES = 10
    settings.SCHEDULE_SPEAKER_OPEN_MINUTES = 30
    factories.conference(timezone="UTC")
    room = factories.room()
    factories.talk(room, T0, T0 + timedelta(minutes=45), speaker_emails=["Linus@example.org"])
    factories.talk(room, T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    return room


def test_attendee_window_boundaries(hall):
    opens = T0 - timedelta(minutes=10)
    assert not decide(hall, ATTENDEE, opens - timedelta(seconds=1)).allowed
    assert decide(hall, ATTENDEE, opens).allowed
    last_end = T0 + timedelta(hours=2)
    assert decide(hall, ATTENDEE, last_end - timedelta(seconds=1)).allowed
    assert not decide(hall, ATTENDEE, last_end + timedelta(seconds=1)).allowed


def test_refusal_says_when_it_opens(hall):
    decision = decide(hall, ATTENDEE, T0 - timedelta(hours=1))
    assert decision.opens_at == T0 - timedelta(minutes=10)
    assert decision.reason


def test_speaker_enters_earlier_as_moderator(hall):
    early = T0 - timedelta(minutes=20)
    assert not decide(hall, ATTENDEE, early).allowed
    decision = decide(hall, SPEAKER, early)
    assert decision.allowed and decision.role == MODERATOR
    assert decide(hall, ATTENDEE, T0).role == VIEWER


def test_guest_only_in_public_rooms(hall):
    assert not decide(hall, GUEST, T0).allowed
    hall.kind = Room.Kind.PUBLIC
    assert decide(hall, GUEST, T0).allowed


def test_private_room_for_its_moderators(hall):
    hall.kind = Room.Kind.PRIVATE
    hall.moderator_emails = ["mod@example.org"]
    assert not decide(hall, ATTENDEE, T0).allowed
    assert decide(hall, Viewer("mod@example.org", "Mo", "attendee"), T0).role == MODERATOR


def test_anonymous_refused(hall):
    assert not decide(hall, ANONYMOUS, T0).allowed


def test_breaks_do_not_open_a_room_early_or_keep_it_open(hall):
    factories.talk(hall, T0 - timedelta(hours=1), T0, title="Coffee", is_break=True)
    factories.talk(hall, T0 + timedelta(hours=2), T0 + timedelta(hours=3), title="Lunch", is_break=True)
    assert decide(hall, ATTENDEE, T0 - timedelta(minutes=10)).opens_at == T0 - timedelta(minutes=10)
    assert not decide(hall, ATTENDEE, T0 - timedelta(minutes=30)).allowed
    assert decide(hall, ATTENDEE, T0 + timedelta(minutes=50)).allowed  # between two sessions
    assert not decide(hall, ATTENDEE, T0 + timedelta(hours=2, minutes=30)).allowed  # only the break is left


def test_moderator_and_speaker_addresses_match_in_any_unicode_form_and_case(hall):
    # Typed in the admin with a combining diaeresis and capitals; people log in with the composed form.
    hall.kind = Room.Kind.PRIVATE
    hall.moderator_emails = ["Zoe\u0308@Example.org"]
    assert decide(hall, Viewer("zo\u00eb@example.org", "Zoë", "attendee"), T0).role == MODERATOR
    talk = hall.talks.get(start=T0)
    talk.speaker_emails = ["Jose\u0301@example.org"]
    talk.save()
    hall.moderator_emails = []
    jose = Viewer("jos\u00e9@example.org", "José", "speaker")
    assert decide(hall, jose, T0 - timedelta(minutes=20)).role == MODERATOR
