"""The server's join rules: who may enter which room when, and with which BBB role.

Pages show buttons from the same decision the join view enforces, so the two never disagree.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from sessions import meetings
from sessions.emails import normalise_email
from sessions.models import Conference, Room, Talk
from sessions.people import Viewer

MODERATOR = "MODERATOR"
VIEWER = "VIEWER"


@dataclass(frozen=True)
class JoinDecision:
    allowed: bool
    role: str
    reason: str  # shown to the person when the join is refused; empty when allowed
    opens_at: datetime | None  # when this person may enter (None: not today / never)
    closes_at: datetime | None
    full: bool = False  # refused only because the room is at its capacity


def _day_talks(room: Room, at: datetime) -> list[Talk]:
    """The room's sessions that start on the conference day containing `at`, plus any running then."""
    conference = Conference.current()
    tz = conference.tz if conference else at.tzinfo
    day_start = datetime.combine(at.astimezone(tz).date(), time.min, tzinfo=tz)
    day_end = day_start + timedelta(days=1)
    running = Q(start__lte=at, end__gt=at)
    today = Q(start__gte=day_start, start__lt=day_end)
    # Breaks neither open a room early nor keep it open late; between sessions it stays open.
    talks = Talk.objects.filter(room=room, is_break=False).filter(running | today)
    return list(talks.order_by("start"))


def _among(email: str | None, emails: list[str]) -> bool:
    return bool(email) and normalise_email(email) in {normalise_email(e) for e in emails}


def _is_speaker(viewer: Viewer, talk: Talk | None) -> bool:
    return talk is not None and _among(viewer.email, talk.speaker_emails)


def decide(room: Room, viewer: Viewer, at: datetime) -> JoinDecision:
    """May `viewer` join `room` at instant `at`, and as what? Opens at `opens_at`, closes at `closes_at`."""
    talks = _day_talks(room, at)
    upcoming = [t for t in talks if t.end > at]
    current = next((t for t in upcoming if t.start <= at), None)
    following = next((t for t in upcoming if t.start > at), None)

    moderator = viewer.is_moderator or _among(viewer.email, room.moderator_emails)
    speaking = _is_speaker(viewer, current) or _is_speaker(viewer, following)
    role = MODERATOR if (moderator or speaking) else VIEWER

    if not viewer.is_authenticated and not viewer.is_guest:
        return JoinDecision(False, role, _("Please log in to join."), None, None)
    if viewer.is_guest and room.kind != Room.Kind.PUBLIC:
        return JoinDecision(False, role, _("Guests may only join public rooms."), None, None)
    if room.kind == Room.Kind.PRIVATE and not moderator:
        return JoinDecision(False, role, _("This room is open to its moderators only."), None, None)
    if not upcoming:
        return JoinDecision(False, role, _("Nothing more is scheduled in this room today."), None, None)

    closes_at = max(t.end for t in talks)
    early = settings.SCHEDULE_SPEAKER_OPEN_MINUTES if role == MODERATOR else settings.SCHEDULE_JOIN_OPEN_MINUTES
    opens_at = talks[0].start - timedelta(minutes=early)
    if at < opens_at:
        return JoinDecision(False, role, _("This room is not open yet."), opens_at, closes_at)
    # Capacity counts listeners only: speakers and moderators always get in.
    if room.capacity and role != MODERATOR:
        present = meetings.participant_estimate(room)
        if present is not None and present >= room.capacity:
            return JoinDecision(False, role, _("This room is full."), opens_at, closes_at, full=True)
    return JoinDecision(True, role, "", opens_at, closes_at)


def open_alternatives(viewer: Viewer, at: datetime, exclude: Room) -> list[tuple[Room, JoinDecision]]:
    """Other rooms this person may join right now (for the "room is full" page)."""
    choices = []
    for room in Room.objects.exclude(pk=exclude.pk):
        decision = decide(room, viewer, at)
        if decision.allowed:
            choices.append((room, decision))
    return choices
