"""A small conference in Europe/Dublin around the end of summer time (2026-10-25), used by the
schedule page, time zone, feed and star tests. America/New_York changes a week later (2026-11-01)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.models import User
from django.test import Client

from sessions.models import Room, Talk, Track
from tests import factories

# Session A: Saturday 24 Oct, Dublin still on UTC+1. B: Monday 26 Oct, Dublin on UTC+0 while
# New York is still on UTC-4. C: Monday 2 Nov, New York on UTC-5 too.
A_START = datetime(2026, 10, 24, 10, 0, tzinfo=UTC)
B_START = datetime(2026, 10, 26, 10, 0, tzinfo=UTC)
C_START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SPEAKER_EMAIL = "linus@example.org"


@dataclass
class Schedule:
    ks: Track
    tc: Track
    hall_a: Room
    hall_b: Room
    town_hall: Room
    a: Talk
    a2: Talk
    coffee: Talk
    parallel: Talk
    b: Talk
    c: Talk


def at(hour: int, minute: int = 0, day: int = 24, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def build() -> Schedule:
    factories.conference(name="Plumbers <Test> Conference", timezone="Europe/Dublin")
    ks = factories.track("Kernel Summit", "#1f6feb", "kernel-summit")
    tc = factories.track("Toolchains", "#d4a72c", "toolchains")
    hall_a = factories.room("hall-a", "Hall A", position=0)
    hall_b = factories.room("hall-b", "Hall B", position=1)
    town_hall = factories.room("town-hall", "Town Hall", kind=Room.Kind.PUBLIC, position=2)
    a = factories.talk(
        hall_a,
        A_START,
        at(10, 45),
        title="Before the change",
        track=ks,
        speaker_names=["Linus T."],
        speaker_emails=[SPEAKER_EMAIL],
        abstract="First line.\nSecond line with <b>tags</b> & <script>alert(1)</script>.",
        external_id="lpc-a",
    )
    coffee = factories.talk(hall_a, at(10, 45), at(11, 0), title="Coffee break", is_break=True, external_id="brk-1")
    a2 = factories.talk(hall_a, at(11, 0), at(11, 30), title="Second talk", track=ks, external_id="lpc-a2")
    parallel = factories.talk(
        hall_b,
        at(10, 30),
        at(11, 30),
        title="Parallel <b>bold</b> & co",
        track=tc,
        speaker_names=["Ada <L>"],
        external_id="lpc-p",
    )
    b = factories.talk(hall_a, B_START, at(10, 45, day=26), title="After the change", track=ks, external_id="lpc-b")
    c = factories.talk(
        town_hall, C_START, at(10, 45, day=2, month=11), title="Both zones in winter", external_id="lpc-c"
    )
    return Schedule(ks, tc, hall_a, hall_b, town_hall, a, a2, coffee, parallel, b, c)


def client_for(persona: str, **kwargs) -> tuple[Client, User | None]:
    """A logged-in test client for attendee / speaker / organiser / guest / anonymous."""
    client = Client(**kwargs)
    user = None
    if persona == "attendee":
        user = factories.person("ada@example.org", "attendee", first_name="Ada")
    elif persona == "speaker":
        user = factories.person(SPEAKER_EMAIL, "speaker", first_name="Linus")
    elif persona == "organiser":
        user = factories.person("org@example.org", "organiser", first_name="Olga")
    elif persona == "guest":
        client = factories.guest_client("Visitor")
    if user:
        client.force_login(user)
    return client, user
