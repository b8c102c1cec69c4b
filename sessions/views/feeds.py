"""Calendar feeds (no login: calendar apps cannot log in) and resetting one's private feed URL."""

import hashlib
import logging

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect
from django.utils.cache import get_conditional_response
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from sessions import feeds, schedule_cache
from sessions.models import Conference, Star, Talk, Track

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/calendar; charset=utf-8"


def _calendar_response(request: HttpRequest, body: bytes, filename: str, *, private: bool = False) -> HttpResponse:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return not_modified
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["ETag"] = etag
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-cache" if private else "public, max-age=300"
    if private:
        response["X-Robots-Tag"] = "noindex"
    return response


def _conference_name() -> str:
    conference = Conference.current()
    return conference.name if conference else "lpcfe"


def _talks():
    return Talk.objects.select_related("room", "track").order_by("start", "pk")


@require_safe
def feed_schedule(request: HttpRequest) -> HttpResponse:
    body = cache.get_or_set(
        schedule_cache.key("ics", "all"),
        lambda: feeds.build_calendar(_talks(), _conference_name()),
        schedule_cache.RENDER_TIMEOUT,
    )
    return _calendar_response(request, body, "schedule.ics")


@require_safe
def feed_track(request: HttpRequest, slug: str) -> HttpResponse:
    track = get_object_or_404(Track, slug=slug)
    body = cache.get_or_set(
        schedule_cache.key("ics", "track", track.pk),
        lambda: feeds.build_calendar(_talks().filter(track=track), f"{_conference_name()}: {track.name}"),
        schedule_cache.RENDER_TIMEOUT,
    )
    return _calendar_response(request, body, f"{track.slug}.ics")


@require_safe
def feed_talk(request: HttpRequest, pk: int) -> HttpResponse:
    """One session, for "add to calendar"."""
    talk = get_object_or_404(_talks(), pk=pk)
    body = feeds.build_calendar([talk], f"{_conference_name()}: {talk.title}")
    response = _calendar_response(request, body, f"session-{talk.pk}.ics")
    response["Content-Disposition"] = response["Content-Disposition"].replace("inline", "attachment")
    return response


@require_safe
def feed_personal(request: HttpRequest, key: str, signature: str) -> HttpResponse:
    user = feeds.user_for_feed(key, signature)
    if user is None:
        response = HttpResponseNotFound(
            _("This calendar address is not valid (it may have been reset). Copy the current one from “My schedule”."),
            content_type="text/plain; charset=utf-8",
        )
        # Django would log the full path, which holds the (wrong) token; log without it.
        response._has_been_logged = True
        logger.warning("Personal calendar feed requested with an unknown or reset address.")
        return response
    ids = Star.objects.filter(user=user).values_list("talk_external_id", flat=True)
    name = _("%(conference)s: my schedule") % {"conference": _conference_name()}
    body = feeds.build_calendar(_talks().filter(external_id__in=list(ids)), name)
    return _calendar_response(request, body, "my-schedule.ics", private=True)


@require_POST
def reset_feed(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        # The personal page explains how to log in.
        return redirect("personal")
    feeds.reset_token(request.user)
    messages.success(
        request, _("Your calendar address was reset. Subscribe again with the new one; the old one no longer works.")
    )
    return redirect("personal")
