"""Recordings matched to sessions: which recording of a room's meetings shows which session.

A meeting is created with meta tags naming the room and the session running (or next) at
that moment (`lpcfe-room`, `lpcfe-session`). A recording belongs to a session when its tag
names the session, or, for a meeting that ran on across several sessions, when it overlaps
the session's time by at least OVERLAP. getRecordings answers are cached per room for
RECORDINGS_SECONDS; a server that failed is not asked again for FAILED_SECONDS, so a session
page stays fast while BBB is down (it then shows no recording).
"""

import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.utils.translation import gettext as _

from sessions import bbb
from sessions.bbb import BBBError
from sessions.meetings import SESSION_TAG, meeting_id_for
from sessions.models import Room, Talk

logger = logging.getLogger(__name__)

RECORDINGS_SECONDS = 60
FAILED_SECONDS = 30
OVERLAP = timedelta(minutes=5)


def _key(room: Room) -> str:
    digest = hashlib.sha256(f"{bbb.server_for(room).api_url}|{meeting_id_for(room)}".encode()).hexdigest()[:32]
    return f"lpcfe:bbb:recordings:{digest}"


def room_recordings(room: Room) -> list[bbb.Recording] | None:
    """Every recording of the room's meetings (cached briefly); None when BBB cannot say."""
    try:
        server = bbb.server_for(room)
        key = _key(room)
    except BBBError:
        return None
    cached = cache.get(key)
    if cached is not None:
        return None if cached == "failed" else cached
    try:
        found = bbb.get_recordings(server, [meeting_id_for(room)])
    except BBBError as error:
        logger.warning("Recordings of room %s: %s", room.slug, error.key or error)
        cache.set(key, "failed", FAILED_SECONDS)
        return None
    cache.set(key, found, RECORDINGS_SECONDS)
    return found


def _instant(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


def belongs_to(recording: bbb.Recording, talk: Talk) -> bool:
    if recording.metadata.get(SESSION_TAG) == talk.external_id:
        return True
    if not recording.start_time or not recording.end_time:
        return False
    overlap = min(_instant(recording.end_time), talk.end) - max(_instant(recording.start_time), talk.start)
    return overlap >= OVERLAP


def for_talk(talk: Talk, published_only: bool = True) -> list[bbb.Recording]:
    """The session's recordings (published ones only, unless an organiser asks), oldest first."""
    found = room_recordings(talk.room) or []
    matched = [r for r in found if belongs_to(r, talk) and (r.published or not published_only)]
    return sorted(matched, key=lambda r: r.start_time)


def set_published(talk: Talk, record_ids: Iterable[str], publish: bool) -> None:
    """Publish or unpublish recordings of this session (only ones that belong to it)."""
    wanted = set(record_ids)
    ids = [r.record_id for r in for_talk(talk, published_only=False) if r.record_id in wanted]
    if not ids:
        raise BBBError(_("This session has no such recording."), key="notFound")
    bbb.publish_recordings(bbb.server_for(talk.room), ids, publish)
    cache.delete(_key(talk.room))
    logger.info("Recordings %s of session %s %s", ",".join(ids), talk.pk, "published" if publish else "unpublished")
