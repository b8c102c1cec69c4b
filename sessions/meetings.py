"""BBB meetings for rooms: created once per meeting, joined by role, counted briefly.

A room's meeting is created once and its create result (with createTime) is kept in Django's
cache, which every front-end process shares; an atomic `cache.add` lock makes sure that a burst
of clicks on one room, across all processes, causes one create. The cached result is dropped
when BBB says the meeting is gone. A server that timed out or could not be reached is skipped
for a few seconds, so a herd of clicks fails fast instead of each waiting for the timeout.
Only sessions.bbb talks to BBB; views call the functions here.
"""

import contextlib
import hashlib
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from html import escape
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sessions import bbb, chat_link, chat_plugin
from sessions.bbb import BBBError
from sessions.models import Conference, Room, Talk
from sessions.people import Viewer

logger = logging.getLogger(__name__)

PARTICIPANTS_SECONDS = 10  # how long a participant count from getMeetingInfo is trusted
MEETINGS_SECONDS = 10  # how long a server's getMeetings answer is reused (status page)
DOWN_SECONDS = 10  # how long a server that failed is skipped
JOIN_LINK_SECONDS = 60  # how long the single-use handle to a signed join URL lives
RECHECK_SECONDS = 10  # at most one "is the meeting still there?" check per room this often
# Meeting meta tags naming the room and the session; recordings are matched to sessions by them.
ROOM_TAG = "lpcfe-room"
SESSION_TAG = "lpcfe-session"
_UNAVAILABLE_KEYS = ("timeout", "unreachable", "httpError", "badResponse", "checksumError")


@dataclass(frozen=True)
class Meeting:
    server: str
    meeting_id: str
    create_time: int
    created_at: float  # when lpcfe got this create result (time.time())


def meeting_id_for(room: Room) -> str:
    return settings.BBB_MEETING_ID_PREFIX + room.slug


def _key(kind: str, server: bbb.Server, meeting_id: str = "") -> str:
    # Hashed: cache keys must stay short and free of characters memcached refuses.
    digest = hashlib.sha256(f"{server.api_url}|{meeting_id}".encode()).hexdigest()[:32]
    return f"lpcfe:bbb:{kind}:{digest}"


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


# --- Failing fast while a server is down -------------------------------------------------------


def _remember_failure(server: bbb.Server, error: BBBError) -> None:
    if error.key in _UNAVAILABLE_KEYS:
        cache.set(_key("down", server), (error.key, error.message), DOWN_SECONDS)


def _raise_if_down(server: bbb.Server) -> None:
    failure = cache.get(_key("down", server))
    if failure:
        key, message = failure
        raise BBBError(message, key=key, server=server.name)


def server_is_down(server: bbb.Server) -> bool:
    return cache.get(_key("down", server)) is not None


# --- Create once ---------------------------------------------------------------------------


def _talks_now_and_next(room: Room, at: datetime) -> list[Talk]:
    return list(
        Talk.objects.filter(room=room, end__gt=at, is_break=False).select_related("track").order_by("start")[:2]
    )


def create_params(room: Room, at: datetime) -> dict:
    """What a room's meeting is created with: name and welcome from the schedule, the way back
    to the front end, BBB chat off, recording by room type, meta tags naming it, and lpcfe's
    chat plugin when BBB_CHAT_PLUGIN is on."""
    conference = Conference.current()
    talks = _talks_now_and_next(room, at)
    talk = talks[0] if talks else None
    name = room.name if len(room.name) >= 2 else _("Room %(name)s") % {"name": room.name}
    # BBB renders the welcome message as HTML: every schedule value is escaped.
    values = {"room": escape(room.name), "conference": escape(conference.name if conference else "")}
    welcome = _("Welcome to %(room)s at %(conference)s.") % values if conference else _("Welcome to %(room)s.") % values
    if talk:
        label = _("Now") if talk.start <= at else _("Next")
        speakers = ", ".join(talk.speaker_names)
        welcome += f"<br>{label}: <b>{escape(talk.title)}</b>" + (f" — {escape(speakers)}" if speakers else "")
        if settings.BBB_CHAT_PLUGIN:
            welcome += "<br>" + escape(_("The chat for this room is in the side panel."))
        else:
            welcome += "<br>" + escape(_("The chat for this room is beside the meeting."))
    params = {
        "name": name[:64],
        "welcome": welcome,
        "logout_url": absolute(reverse("room_left", args=[room.slug])),
        "record": room.kind in settings.BBB_RECORD_ROOM_KINDS,
        "disabled_features": settings.BBB_DISABLED_FEATURES,
        "allow_requests_without_session": settings.BBB_ALLOW_REQUESTS_WITHOUT_SESSION,
        "meta": {
            "conference": conference.name if conference else "",
            "room": room.name,
            "track": talk.track.name if talk and talk.track else "",
            ROOM_TAG: room.slug,
            SESSION_TAG: talk.external_id if talk else "",
            "bbb-origin": "lpcfe",
            "bbb-origin-server-name": urlsplit(settings.SITE_URL).hostname or "",
        },
    }
    if settings.BBB_CHAT_PLUGIN:
        params["plugin_manifests"] = [chat_plugin.manifest_entry(settings.SITE_URL)]
    return params


def ensure_meeting(room: Room) -> Meeting:
    """The room's meeting, created on BBB at most once per BBB_MEETING_CACHE_SECONDS.

    Concurrent callers in any process wait for the one that holds the lock, at most
    BBB_TIMEOUT seconds, then fail with BBBError.
    """
    server = bbb.server_for(room)
    meeting_id = meeting_id_for(room)
    key = _key("meeting", server, meeting_id)
    lock = key + ":lock"
    deadline = time.monotonic() + settings.BBB_TIMEOUT + 0.5
    too_slow = BBBError(
        _("BigBlueButton server %(server)s did not answer within %(seconds)s seconds.")
        % {"server": server.name, "seconds": settings.BBB_TIMEOUT},
        key="timeout",
        server=server.name,
    )
    while True:
        cached = cache.get(key)
        if cached:
            return cached
        _raise_if_down(server)
        if time.monotonic() >= deadline:
            raise too_slow
        # cache.add is atomic in Redis and memcached, and in the database cache through the
        # table's primary key. (Only a lock row left behind by a crashed process and already
        # expired can be taken by two processes at once there: at worst a second create, which
        # BBB answers with the same meeting.)
        if cache.add(lock, secrets.token_hex(4), timeout=settings.BBB_TIMEOUT + 5):
            try:
                cached = cache.get(key)
                if cached:
                    return cached
                try:
                    result = bbb.create(server, meeting_id, **create_params(room, timezone.now()))
                except BBBError as error:
                    _remember_failure(server, error)
                    raise
                meeting = Meeting(server.name, result.meeting_id, result.create_time, time.time())
                cache.set(key, meeting, settings.BBB_MEETING_CACHE_SECONDS)
                logger.info(
                    "BBB %s: meeting %s ready (createTime %s%s)",
                    server.name,
                    meeting_id,
                    result.create_time,
                    ", existed" if result.duplicate else "",
                )
                return meeting
            finally:
                cache.delete(lock)
        # Someone else is creating it: wait for their result rather than calling BBB too.
        while cache.get(lock) is not None:
            if time.monotonic() >= deadline:
                raise too_slow
            time.sleep(0.05 + random.random() * 0.1)  # jitter, so waiters do not poll in step
            if cache.get(key):
                break
            _raise_if_down(server)


def forget_meeting(room: Room) -> None:
    """Drop what lpcfe knows about the room's meeting; the next join creates it again."""
    try:
        server = bbb.server_for(room)
    except BBBError:
        return
    meeting_id = meeting_id_for(room)
    cache.delete_many([_key("meeting", server, meeting_id), _key("count", server, meeting_id)])


def recheck_meeting(room: Room) -> None:
    """After BBB refused a join: ask BBB whether the cached meeting is still the live one."""
    try:
        server = bbb.server_for(room)
    except BBBError:
        return
    meeting_id = meeting_id_for(room)
    if not cache.add(_key("recheck", server, meeting_id), 1, RECHECK_SECONDS) or server_is_down(server):
        return
    cached = cache.get(_key("meeting", server, meeting_id))
    try:
        info = bbb.get_meeting_info(server, meeting_id)
    except BBBError as error:
        if error.meeting_gone:
            forget_meeting(room)
        else:
            _remember_failure(server, error)
        return
    if info.has_been_forcibly_ended or (cached and cached.create_time != info.create_time):
        forget_meeting(room)


# --- Joining -------------------------------------------------------------------------------


def bbb_user_id(request: HttpRequest, viewer: Viewer) -> str:
    """A stable userID that names no email (BBB shows it to other tools)."""
    if viewer.is_authenticated:
        return f"lpcfe-{request.user.pk}"
    if not request.session.session_key:
        request.session.save()
    return "guest-" + hashlib.sha256(request.session.session_key.encode()).hexdigest()[:16]


def join_url(room: Room, viewer: Viewer, role: str, user_id: str, request: HttpRequest | None = None) -> str:
    """A signed join URL for one person into the room's meeting (creating the meeting if needed)."""
    meeting = ensure_meeting(room)
    server = bbb.server_for(room)
    name = viewer.display_name or _("Guest")  # a guest's name carries its marker already (guests.start_session)
    # Only our BBB plugin reads the chat address, and it carries a ticket: without the plugin
    # nothing in BBB would use it, so the join URL (which lands in BBB's logs) carries none.
    userdata = {}
    if settings.BBB_CHAT_PLUGIN:
        chat_url = chat_link.chat_url(room, viewer, request)
        if chat_url:
            # BBB keeps userdata-<name> as <name> (the name must hold no '-') in user_metadata.
            userdata["lpcfe_chat_url"] = chat_url
            userdata["lpcfe_chat_title"] = _("Chat")
    return bbb.join_url(
        server,
        meeting.meeting_id,
        name[:200],
        role,
        user_id=user_id,
        create_time=meeting.create_time,
        userdata=userdata,
        error_redirect_url=absolute(reverse("room_left", args=[room.slug])),
        guest=viewer.is_guest,
    )


def stash_join(url: str) -> str:
    """Keep a signed join URL server-side under a single-use handle; the page only gets the handle."""
    handle = secrets.token_urlsafe(24)
    cache.set(f"lpcfe:bbb:pending:{handle}", url, JOIN_LINK_SECONDS)
    return handle


def has_join(handle: str) -> bool:
    return bool(handle) and cache.get(f"lpcfe:bbb:pending:{handle}") is not None


def take_join(handle: str) -> str | None:
    """The stashed join URL, once: only the caller whose delete succeeds gets it."""
    if not handle:
        return None
    key = f"lpcfe:bbb:pending:{handle}"
    url = cache.get(key)
    if url and cache.delete(key):
        return url
    return None


# --- Counting --------------------------------------------------------------------------------


def participant_estimate(room: Room) -> int | None:
    """People in the room's meeting: BBB's count (cached briefly) plus joins lpcfe sent since.

    None when it cannot be known (server down or misconfigured); callers then do not refuse.
    """
    try:
        server = bbb.server_for(room)
    except BBBError:
        return None
    meeting_id = meeting_id_for(room)
    key = _key("count", server, meeting_id)
    joins_key = _key("joins", server, meeting_id)
    counted = cache.get(key)
    if counted is not None:
        return counted + (cache.get(joins_key) or 0)
    if server_is_down(server):
        return None
    asked_at = time.time()
    try:
        info = bbb.get_meeting_info(server, meeting_id)
        count = info.participant_count
        cached = cache.get(_key("meeting", server, meeting_id))
        if cached and cached.create_time != info.create_time and cached.created_at < asked_at:
            forget_meeting(room)
    except BBBError as error:
        if not error.meeting_gone:
            _remember_failure(server, error)
            return None
        count = 0
        # In a join storm a create may finish while this question is on its way: an answer
        # older than the cached meeting says nothing about it (forgetting it meant a second create).
        # With nothing cached there is nothing to forget, and deleting anyway could remove a
        # meeting stored a moment after the read.
        cached = cache.get(_key("meeting", server, meeting_id))
        if cached is not None and cached.created_at < asked_at:
            forget_meeting(room)
    cache.set_many({key: count, joins_key: 0}, PARTICIPANTS_SECONDS)
    return count


def count_join(room: Room) -> None:
    """One more person sent into the room since BBB last counted (an estimate between counts)."""
    try:
        server = bbb.server_for(room)
    except BBBError:
        return
    # ValueError: no count cached right now, so the next one comes from BBB anyway.
    with contextlib.suppress(ValueError):
        cache.incr(_key("joins", server, meeting_id_for(room)))


def server_meetings(server: bbb.Server) -> list[bbb.MeetingInfo]:
    """getMeetings for one server, reused for a few seconds (the status page refreshes often)."""
    key = _key("meetings", server)
    cached = cache.get(key)
    if cached is not None:
        return cached
    _raise_if_down(server)
    try:
        meetings = bbb.get_meetings(server)
    except BBBError as error:
        _remember_failure(server, error)
        raise
    cache.set(key, meetings, MEETINGS_SECONDS)
    return meetings
