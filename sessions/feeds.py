"""iCalendar feeds: the whole conference, one track, one session, and a person's starred sessions.

Events carry times in UTC (calendar apps convert them to the reader's zone), a UID that stays
the same across imports (from the session's external ID), and a SEQUENCE that grows when a
session moves, so subscribed calendars update their copy instead of adding a second one.

The personal feed works without a login, because calendar apps cannot log in: its URL holds
a random key and an HMAC of it. Only the key is stored; resetting replaces it.
"""

import logging
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from sessions.models import CalendarToken, Conference, Talk

logger = logging.getLogger(__name__)

PRODID = "-//lpcfe//Conference schedule//EN"
_SALT = "lpcfe.sessions.feeds.personal"
# How often subscribed calendars are asked to check again.
REFRESH_INTERVAL = "PT1H"


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def event_uid(talk: Talk) -> str:
    return f"{talk.external_id}@{urlsplit(settings.SITE_URL).hostname or 'lpcfe'}"


def build_calendar(talks: Iterable[Talk], name: str, stamp: datetime | None = None) -> bytes:
    """An RFC 5545 calendar of `talks` (breaks left out)."""
    conference = Conference.current()
    stamp = (stamp or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    if conference:
        calendar.add("x-wr-timezone", conference.timezone)
    calendar.add("refresh-interval", icalendar.vDuration.from_ical(REFRESH_INTERVAL), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH_INTERVAL)
    for talk in talks:
        if talk.is_break:
            continue
        calendar.add_component(_event(talk, stamp))
    return calendar.to_ical()


def _event(talk: Talk, stamp: datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", event_uid(talk))
    event.add("dtstamp", stamp)
    event.add("sequence", talk.sequence)
    event.add("summary", talk.title)
    event.add("dtstart", talk.start.astimezone(UTC))
    event.add("dtend", talk.end.astimezone(UTC))
    event.add("location", talk.room.name)
    page = absolute(reverse("talk", args=[talk.pk]))
    event.add("url", page)
    if talk.track:
        event.add("categories", [talk.track.name])
    lines = []
    if talk.speaker_names:
        lines.append(", ".join(talk.speaker_names))
    if talk.abstract:
        lines.append(talk.abstract)
    lines.append(page)
    event.add("description", "\n\n".join(lines))
    return event


def signature(key: str) -> str:
    return salted_hmac(_SALT, key, algorithm="sha256").hexdigest()


def token_for(user: AbstractBaseUser) -> CalendarToken:
    token = CalendarToken.objects.filter(user=user).first()
    return token or CalendarToken.objects.create(user=user, key=secrets.token_urlsafe(16))


def reset_token(user: AbstractBaseUser) -> CalendarToken:
    """A new key for `user`: every earlier personal feed URL stops working."""
    token = token_for(user)
    token.key = secrets.token_urlsafe(16)
    token.save(update_fields=["key", "created"])
    logger.info("Personal calendar feed reset for user %s.", user.pk)
    return token


def personal_feed_url(user: AbstractBaseUser) -> str:
    token = token_for(user)
    return absolute(reverse("feed_personal", args=[token.key, signature(token.key)]))


def user_for_feed(key: str, given: str) -> AbstractBaseUser | None:
    """The owner of a personal feed URL, or None for a wrong, forged or reset one."""
    token = CalendarToken.objects.select_related("user").filter(key=key).first()
    # Compare in constant time, and compare even for an unknown key, so timing tells nothing.
    expected = signature(token.key if token else "no such key " + key)
    if not constant_time_compare(expected, given) or token is None or not token.user.is_active:
        return None
    return token.user
