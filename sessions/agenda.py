"""What is on when: the schedule questions the pages, the state endpoint and the feeds ask.

Everything here is shared by all viewers and cached under the schedule version (see
sessions.schedule_cache), so answering it does not grow with the number of attendees.
Per-viewer answers (join decisions for speakers and moderators, stars) are never cached
under a key another viewer could read.

Days are conference days: calendar dates in the conference's zone, as the organisers plan
them and as pretalx and Indico show them. Times inside a day are shown in the viewer's zone.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.conf import settings
from django.core.cache import cache

from sessions import schedule_cache
from sessions.emails import normalise_email
from sessions.joinrules import JoinDecision, decide
from sessions.models import Room, Star, Talk
from sessions.people import Viewer
from sessions.timezones import conference_zone

# The longest a page waits for its next update, so a re-imported schedule shows up soon
# even when no session boundary is near.
MAX_REFRESH = timedelta(minutes=10)


def minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def conference_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The instants a conference day starts and ends (23 or 25 hours long on a DST change)."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    # In UTC: arithmetic on datetimes that share a zone would be wall-clock arithmetic.
    return start.astimezone(UTC), end.astimezone(UTC)


def conference_day_of(at: datetime, tz: tzinfo) -> date:
    return at.astimezone(tz).date()


@dataclass
class RoomNow:
    room: Room
    current: Talk | None
    following: Talk | None


@dataclass
class NowState:
    at: datetime
    rooms: list[RoomNow] = field(default_factory=list)
    next_boundary: datetime | None = None
    resumes: Talk | None = None  # the next session when nothing is on today
    has_schedule: bool = False

    @property
    def talks(self) -> list[Talk]:
        return [t for r in self.rooms for t in (r.current, r.following) if t]


def _compute_now_state(at: datetime) -> NowState:
    tz = conference_zone()
    _, day_end = conference_day_bounds(conference_day_of(at, tz), tz)
    talks = list(
        Talk.objects.filter(end__gt=at, start__lt=day_end).select_related("room", "track").order_by("start", "pk")
    )
    state = NowState(at=at, has_schedule=Talk.objects.exists())
    by_room: dict[int, RoomNow] = {}
    for talk in talks:
        entry = by_room.setdefault(talk.room_id, RoomNow(talk.room, None, None))
        if talk.start <= at and entry.current is None:
            entry.current = talk
        elif talk.start > at and entry.following is None:
            entry.following = talk
    state.rooms = sorted(by_room.values(), key=lambda r: (r.room.position, r.room.name))
    if not any(r.current or (r.following and not r.following.is_break) for r in state.rooms):
        state.resumes = (
            Talk.objects.filter(start__gt=at, is_break=False).select_related("room", "track").order_by("start").first()
        )
    state.next_boundary = _next_boundary(at, talks + ([state.resumes] if state.resumes else []), day_end)
    return state


def _next_boundary(at: datetime, talks: Iterable[Talk], day_end: datetime) -> datetime:
    """The next instant the now page changes: a start, an end, a room opening, or the day's end."""
    early = {settings.SCHEDULE_JOIN_OPEN_MINUTES, settings.SCHEDULE_SPEAKER_OPEN_MINUTES}
    candidates = [day_end]
    for talk in talks:
        candidates += [talk.start, talk.end] + [talk.start - timedelta(minutes=m) for m in early]
    return min(c for c in candidates if c > at)


def now_state(at: datetime, *, cached: bool = True) -> NowState:
    """What is on in each room at `at` and what follows; cached per schedule version and minute."""
    at = minute(at)
    if not cached:
        return _compute_now_state(at)
    return cache.get_or_set(
        schedule_cache.key("now", at.isoformat()), lambda: _compute_now_state(at), schedule_cache.RENDER_TIMEOUT
    )


def refresh_after(now: datetime, boundary: datetime | None) -> timedelta:
    """How long a page may wait before it asks again (before the client's own jitter).

    `now` is the exact time. States are computed per whole minute, so a boundary inside the
    current minute shows from the next minute on.
    """
    if boundary is None:
        return MAX_REFRESH
    wait = boundary - now
    if wait <= timedelta(0):
        wait = minute(now) + timedelta(minutes=1) - now
    return max(timedelta(seconds=1), min(wait, MAX_REFRESH))


def _special_emails() -> frozenset[str]:
    emails: set[str] = set()
    for speakers in Talk.objects.values_list("speaker_emails", flat=True):
        emails.update(normalise_email(e) for e in speakers or [])
    for moderators in Room.objects.values_list("moderator_emails", flat=True):
        emails.update(normalise_email(e) for e in moderators or [])
    return frozenset(emails)


def special_emails() -> frozenset[str]:
    """Everyone whose join rules differ from a plain attendee's: speakers and room moderators."""
    return cache.get_or_set(schedule_cache.key("special-emails"), _special_emails, schedule_cache.RENDER_TIMEOUT)


def join_decisions(
    rooms: Iterable[Room], viewer: Viewer, at: datetime, *, cached: bool = True
) -> dict[int, JoinDecision]:
    """decide() for each room, exactly as the join view will.

    decide() depends on the viewer only through their role and whether their email is a
    speaker's or a room moderator's. Viewers who are neither get the decision made for a
    stand-in with the same role and no email, shared per minute; everyone else gets theirs
    computed for them alone.
    """
    rooms = list(rooms)
    personal = viewer.is_moderator or (viewer.email and normalise_email(viewer.email) in special_emails())
    if not cached or personal:
        return {room.pk: decide(room, viewer, at) for room in rooms}
    at = minute(at)
    stand_in = Viewer(email=None, display_name="", role=viewer.role)
    keys = {room.pk: schedule_cache.key("join", room.pk, viewer.role, at.isoformat()) for room in rooms}
    found = cache.get_many(list(keys.values()))
    decisions: dict[int, JoinDecision] = {}
    missing: dict[str, JoinDecision] = {}
    for room in rooms:
        decision = found.get(keys[room.pk])
        if decision is None:
            decision = missing[keys[room.pk]] = decide(room, stand_in, at)
        decisions[room.pk] = decision
    if missing:
        cache.set_many(missing, schedule_cache.RENDER_TIMEOUT)
    return decisions


def _compute_days() -> list[date]:
    tz = conference_zone()
    return sorted({t.astimezone(tz).date() for t in Talk.objects.values_list("start", flat=True)})


def conference_days() -> list[date]:
    """The conference days that have sessions, in the conference's zone."""
    return cache.get_or_set(schedule_cache.key("days"), _compute_days, schedule_cache.RENDER_TIMEOUT)


def current_or_first_day(at: datetime) -> date | None:
    days = conference_days()
    if not days:
        return None
    today = conference_day_of(at, conference_zone())
    if today in days:
        return today
    upcoming = [d for d in days if d > today]
    return upcoming[0] if upcoming else days[-1]


def day_talks(day: date) -> list[Talk]:
    """The sessions starting on conference day `day`, in time and room order."""
    tz = conference_zone()
    start, end = conference_day_bounds(day, tz)
    return list(
        Talk.objects.filter(start__gte=start, start__lt=end)
        .select_related("room", "track")
        .order_by("start", "room__position", "room__name", "pk")
    )


def by_local_day(talks: Iterable[Talk], zone: tzinfo) -> list[tuple[date, list[Talk]]]:
    """Sessions under the day they start on in the viewer's zone, in order: what every list
    (a track, a personal schedule) groups by, so a Sunday 23:30 session is under Sunday."""
    days: dict[date, list[Talk]] = {}
    for talk in sorted(talks, key=lambda t: (t.start, t.room.position, t.room.name, t.pk)):
        days.setdefault(talk.start.astimezone(zone).date(), []).append(talk)
    return list(days.items())


def list_joins(talks: Iterable[Talk], viewer: Viewer, at: datetime, *, cached: bool = True) -> dict[int, JoinDecision]:
    """The viewer's join decision for each listed session that is on now or next in its room
    today (the sessions a Join button belongs to), by session pk."""
    state = now_state(at, cached=cached)
    live = {t.pk: r.room for r in state.rooms for t in (r.current, r.following) if t and not t.is_break}
    listed = [t for t in talks if t.pk in live]
    rooms = {live[t.pk].pk: live[t.pk] for t in listed}
    decisions = join_decisions(rooms.values(), viewer, at, cached=cached)
    return {t.pk: decisions[live[t.pk].pk] for t in listed}


def speaker_sessions(viewer: Viewer, at: datetime, *, cached: bool = True) -> list[Talk]:
    """The sessions `viewer` speaks in that have not ended, each with `join` set on the day it
    runs (the room's decision for them: moderator from their window's opening)."""
    email = normalise_email(viewer.email or "")
    if not email or email not in special_emails():
        return []
    upcoming = Talk.objects.filter(end__gt=at, is_break=False).select_related("room", "track").order_by("start")
    talks = [t for t in upcoming if email in (normalise_email(e) for e in t.speaker_emails or [])]
    tz = conference_zone()
    today = [t for t in talks if conference_day_of(t.start, tz) <= conference_day_of(at, tz)]
    decisions = join_decisions({t.room_id: t.room for t in today}.values(), viewer, at, cached=cached)
    for talk in talks:
        talk.join = decisions.get(talk.room_id) if talk in today else None
    return talks


def starred_ids(user: object) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(Star.objects.filter(user=user).values_list("talk_external_id", flat=True))
