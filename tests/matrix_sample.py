"""A small conference for the Matrix tests: three tracks, a public town hall, a private room,
speakers, an organiser, a moderator and attendees. Emails use a per-test domain so the
suite's one homeserver never sees the same person twice across tests."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from sessions.models import Room, Track
from tests import factories


@dataclass
class Sample:
    domain: str
    tracks: list[Track]
    hall: Room
    townhall: Room
    private: Room
    attendees: list
    organiser: object
    moderator: object

    def email(self, name: str) -> str:
        return f"{name}@{self.domain}"


def build(domain: str) -> Sample:
    conference = factories.conference()
    tz = conference.tz
    today = timezone.now().astimezone(tz).date()
    day_start = datetime.combine(today, time(0, 0), tzinfo=tz)
    tracks = [
        factories.track("Kernel Summit", matrix_room="kernel-summit"),
        factories.track("Networking", matrix_room="networking"),
        factories.track("Toolchains", matrix_room=""),
    ]
    hall = factories.room("hall-a", "Hall A", moderator_emails=[f"hall.mod@{domain}"])
    townhall = factories.room("town-hall", "Town Hall", kind=Room.Kind.PUBLIC)
    private = factories.room(
        "board", "Board room", kind=Room.Kind.PRIVATE, matrix_room="board", moderator_emails=[f"chair@{domain}"]
    )
    # Sessions spread over the whole day so some room is always "now or next".
    for i, track in enumerate(tracks):
        factories.talk(
            hall,
            day_start + timedelta(hours=8 * i),
            day_start + timedelta(hours=8 * i + 7),
            title=f"{track.name} session",
            track=track,
            speaker_names=[f"Speaker {i}"],
            speaker_emails=[f"Speaker{i}@{domain}"],
        )
    factories.talk(townhall, day_start, day_start + timedelta(hours=23), title="Town hall")
    factories.talk(private, day_start, day_start + timedelta(hours=23), title="Board meeting")
    attendees = [factories.person(f"attendee{i}@{domain}", first_name="Attendee", last_name=str(i)) for i in range(4)]
    organiser = factories.person(f"organiser@{domain}", role="organiser", first_name="Olga", last_name="Org")
    moderator = factories.person(f"moderator@{domain}", role="moderator", first_name="Mo", last_name="Derator")
    return Sample(domain, tracks, hall, townhall, private, attendees, organiser, moderator)
