"""Schedule pages: now and next, the day grid and list, tracks, sessions, the personal schedule.

Shared parts (the now-state, day grids) come from the cache under the schedule version;
join buttons and stars are added per viewer on every request.
"""

import logging
import math
import random
import re
from datetime import date, datetime, timedelta, tzinfo
from types import SimpleNamespace

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sessions import agenda, daygrid, recordings, schedule_cache
from sessions.emails import normalise_email
from sessions.models import Star, Talk, Track
from sessions.people import Viewer, role_of, viewer_for
from sessions.timezones import (
    is_valid_zone,
    label_offset,
    parse_instant,
    relative_label,
    relative_strings,
    remember_zone,
    request_conference_zone,
    selector_zones,
    zone_label,
    zone_label_for_range,
    zone_name,
)
from sessions.views.auth import login_or_guest_required

logger = logging.getLogger(__name__)


# --- helpers ------------------------------------------------------------------------------


def _viewer(request: HttpRequest) -> Viewer:
    """Who the page is for: the person asking, or whom an organiser previews as (`?at=...&as=...`)."""
    if not hasattr(request, "_lpcfe_viewer"):
        viewer = viewer_for(request)
        stand_in = _preview_as(request.GET.get("as", "")) if request.GET.get("at") and viewer.is_organiser else None
        request._lpcfe_viewer = stand_in or viewer
        request._lpcfe_preview_as = request.GET["as"] if stand_in else ""
    return request._lpcfe_viewer


def _preview_as(value: str) -> Viewer | None:
    """`attendee`, `guest`, or someone's email (a speaker's: their sessions and their join buttons)."""
    if value in ("attendee", "guest"):
        return Viewer(email=None, display_name=value, role=value)
    email = normalise_email(value)
    if "@" not in email:
        return None
    user = User.objects.filter(username=email).first()
    role = role_of(user) if user else "attendee"
    return Viewer(email=email, display_name=(user.get_full_name() if user else "") or email, role=role)


def instant_for(request: HttpRequest) -> tuple[datetime, bool]:
    """The instant a page shows: now (to the minute), or an organiser's `?at=` preview."""
    raw = request.GET.get("at", "")
    if raw and viewer_for(request).is_organiser:
        parsed = parse_instant(raw, request_conference_zone(request))
        if parsed is not None:
            return parsed, True
        messages.error(
            request,
            _("Could not read ?at=%(value)s; use ISO 8601, e.g. 2026-09-21T09:00+02:00. Showing now instead.")
            % {"value": raw[:40]},
        )
    return agenda.minute(timezone.now()), False


def _preview_as_param(request: HttpRequest) -> dict[str, str]:
    _viewer(request)
    return {"as": request._lpcfe_preview_as} if request._lpcfe_preview_as else {}


def _page_context(
    request: HttpRequest, at: datetime, preview: bool, start: datetime, end: datetime | None = None
) -> dict:
    """What every schedule page shows around its content; the zone labels describe [start, end)
    (one instant when `end` is None), the span of time the page is about."""
    zone = request.viewer_zone
    conf_zone = request_conference_zone(request)

    def label(tz: tzinfo) -> str:
        return zone_label_for_range(tz, start, end) if end is not None else zone_label(tz, start)

    return {
        "at": at,
        "preview": preview,
        "preview_query": "?" + urlencode({"at": at.isoformat(), **_preview_as_param(request)}) if preview else "",
        "zone_label": label(zone),
        # Times whose offset differs from this one carry their own (see lpcfe_time.clock).
        "label_offset": label_offset(zone, start, end),
        "viewer_zone_name": zone_name(zone),
        "requested_zone_name": getattr(request, "viewer_zone_requested", ""),
        "conference_zone_name": zone_name(conf_zone),
        "conference_zone_label": label(conf_zone),
        "showing_conference_zone": zone_name(zone) == zone_name(conf_zone),
        "viewer": _viewer(request),
        "preview_as": bool(_preview_as_param(request)),
        "preview_speakers": sorted(agenda.special_emails()) if preview else [],
        "relative_strings": relative_strings(),
        # The page's script corrects its clock by this; exact, unlike `at` (whole minutes).
        "server_now": at if preview else timezone.now(),
    }


def _starred(request: HttpRequest) -> set[str]:
    return agenda.starred_ids(request.user)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


# --- now and next -------------------------------------------------------------------------


def _now_parts(request: HttpRequest) -> dict:
    at, preview = instant_for(request)
    state = agenda.now_state(at, cached=not preview)
    viewer = _viewer(request)
    decisions = agenda.join_decisions([r.room for r in state.rooms], viewer, at, cached=not preview)
    starred = _starred(request)
    rooms = [
        {
            "room": r.room,
            "current": r.current,
            "following": r.following,
            "decision": decisions[r.room.pk],
            "current_relative": relative_label(at, r.current.start, r.current.end) if r.current else "",
            "following_relative": relative_label(at, r.following.start, r.following.end) if r.following else "",
        }
        for r in state.rooms
    ]
    wait = agenda.refresh_after(at if preview else timezone.now(), state.next_boundary)
    return {
        **_page_context(request, at, preview, at),
        "state": state,
        "rooms": rooms,
        "starred": starred,
        "resumes_relative": relative_label(at, state.resumes.start, state.resumes.end) if state.resumes else "",
        "resumes_zone_label": zone_label(request.viewer_zone, state.resumes.start) if state.resumes else "",
        "nav": "now",
        "refresh_seconds": math.ceil(wait.total_seconds()),
        "refresh_jitter": settings.SCHEDULE_REFRESH_JITTER_SECONDS,
        # Without JavaScript every page refreshes on its own; spread them out after a boundary.
        "meta_refresh_seconds": max(60, int(wait.total_seconds()) + random.randint(5, 60)),
        "my_next": _my_next(starred, at) if starred else [],
        "speaking": agenda.speaker_sessions(viewer, at, cached=not preview),
    }


def _my_next(starred: set[str], at: datetime) -> list[Talk]:
    return list(
        Talk.objects.filter(external_id__in=starred, end__gt=at).select_related("room", "track").order_by("start")[:3]
    )


@login_or_guest_required
def now(request: HttpRequest) -> HttpResponse:
    """The front page: for each room, the session in progress and the next one, with a join button."""
    return render(request, "sessions/now.html", _now_parts(request))


@login_or_guest_required
def now_state(request: HttpRequest) -> JsonResponse:
    """The now page's rooms, for the page's script to swap in at session boundaries."""
    context = _now_parts(request)
    html = render_to_string("sessions/_now_rooms.html", context, request=request)
    boundary = context["state"].next_boundary
    response = JsonResponse(
        {
            "at": context["at"].isoformat(),
            "server_time": context["server_now"].isoformat(),
            "next_boundary": boundary.isoformat() if boundary else None,
            "refresh_after": context["refresh_seconds"],
            "zone": context["viewer_zone_name"],
            "zone_label": context["zone_label"],
            "html": html,
        }
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- full schedule ------------------------------------------------------------------------


@login_or_guest_required
def schedule(request: HttpRequest) -> HttpResponse:
    """The schedule starts on today's conference day while the event runs, else its first day."""
    at, preview = instant_for(request)
    day = agenda.current_or_first_day(at)
    if day is None:
        context = _page_context(request, at, preview, at)
        return render(
            request,
            "sessions/schedule_day.html",
            {**context, "days": [], "tracks": Track.objects.all(), "nav": "schedule"},
        )
    target = reverse("schedule_day", args=[day.isoformat()])
    query = request.GET.urlencode()
    return HttpResponseRedirect(target + ("?" + query if query else ""))


GRID_ACTIONS = re.compile(r"<!--actions:(\d+)-->")
# A stand-in session for rendering the grid's star buttons once per page (not once per session).
_STAND_IN = SimpleNamespace(pk=987654321, external_id="\x00stand-in", title="lpcfe-stand-in-title", join=None)


def _grid_actions(request: HttpRequest, html: str, at: datetime, preview: bool) -> str:
    """The shared (cached) grid with this viewer's Join and star buttons put in its markers."""
    viewer = _viewer(request)
    if not viewer.is_authenticated and not viewer.is_guest:
        return GRID_ACTIONS.sub("", html)
    ids = {int(pk) for pk in GRID_ACTIONS.findall(html)}
    talks = {
        pk: (external_id, title)
        for pk, external_id, title in Talk.objects.filter(pk__in=ids).values_list("pk", "external_id", "title")
    }
    state = agenda.now_state(at, cached=not preview)
    live = {t.pk: t for r in state.rooms for t in (r.current, r.following) if t and t.pk in ids}
    joins = agenda.list_joins(live.values(), viewer, at, cached=not preview)
    starred = _starred(request)
    template = get_template("sessions/_grid_actions.html")
    context = {"viewer": viewer, "preview_query": ""}
    # Without a Join button the actions differ only by session and star: render both once.
    stand_in = {on: {_STAND_IN.external_id} if on else set() for on in (True, False)}
    plain = {on: template.render({**context, "talk": _STAND_IN, "starred": stand_in[on]}, request) for on in stand_in}

    def actions(match: re.Match) -> str:
        pk = int(match.group(1))
        if pk not in talks:
            return ""
        external_id, title = talks[pk]
        if pk in joins:
            live[pk].join = joins[pk]
            return template.render({**context, "talk": live[pk], "starred": starred}, request)
        return (
            plain[external_id in starred]
            .replace(f"/{_STAND_IN.pk}/", f"/{pk}/")
            .replace(_STAND_IN.title, escape(title))
        )

    return GRID_ACTIONS.sub(actions, html)


@login_or_guest_required
def schedule_day(request: HttpRequest, day: str) -> HttpResponse:
    """One conference day: rooms as columns on wide screens, a chronological list on phones."""
    try:
        the_day = date.fromisoformat(day)
    except ValueError:
        raise Http404(_("No such day.")) from None
    days = agenda.conference_days()
    if the_day not in days:
        raise Http404(_("There are no sessions on that day."))
    at, preview = instant_for(request)
    zone = request.viewer_zone
    conf_zone = request_conference_zone(request)
    day_start, day_end = agenda.conference_day_bounds(the_day, conf_zone)
    context = _page_context(request, at, preview, day_start, day_end)
    in_day = day_start <= at < day_end + timedelta(hours=12)
    key = schedule_cache.key(
        "day", the_day.isoformat(), zone_name(zone), request.LANGUAGE_CODE, at.isoformat() if in_day else "-"
    )

    def build() -> str:
        talks = agenda.day_talks(the_day)
        grid = daygrid.build(the_day, talks, at, zone, context["preview_query"])
        grid["label_offset"] = context["label_offset"]
        return render_to_string("sessions/_day_grid.html", grid, request=None)

    grid_html = build() if preview else cache.get_or_set(key, build, schedule_cache.RENDER_TIMEOUT)
    grid_html = _grid_actions(request, grid_html, at, preview)
    return render(
        request,
        "sessions/schedule_day.html",
        {
            **context,
            "day": the_day,
            "days": days,
            "grid_html": mark_safe(grid_html),  # noqa: S308 - rendered by our autoescaping template
            "as_list": request.GET.get("view") == "list",
            "tracks": Track.objects.all(),
            "nav": "schedule",
        },
    )


def _listed(request: HttpRequest, talks: list[Talk], at: datetime, preview: bool) -> list[tuple[date, list[Talk]]]:
    """A list of sessions grouped by the viewer's day, each with `join` set where a Join button belongs."""
    joins = agenda.list_joins(talks, _viewer(request), at, cached=not preview)
    for item in talks:
        item.join = joins.get(item.pk)
    return agenda.by_local_day(talks, request.viewer_zone)


@login_or_guest_required
def track(request: HttpRequest, slug: str) -> HttpResponse:
    the_track = get_object_or_404(Track, slug=slug)
    at, preview = instant_for(request)
    talks = list(the_track.talks.select_related("room", "track").order_by("start", "room__position"))
    span = (talks[0].start, talks[-1].end) if talks else (at,)
    return render(
        request,
        "sessions/track.html",
        {
            **_page_context(request, at, preview, *span),
            "track": the_track,
            "days": _listed(request, talks, at, preview),
            "starred": _starred(request),
        },
    )


@login_or_guest_required
def talk(request: HttpRequest, pk: int) -> HttpResponse:
    the_talk = get_object_or_404(Talk.objects.select_related("room", "track"), pk=pk)
    at, preview = instant_for(request)
    conf_zone = request_conference_zone(request)
    same_day = agenda.conference_day_of(at, conf_zone) == agenda.conference_day_of(the_talk.start, conf_zone)
    decision = None
    if same_day and the_talk.end > at and not the_talk.is_break:
        decision = agenda.join_decisions([the_talk.room], _viewer(request), at, cached=not preview)[the_talk.room_id]
    organiser = _viewer(request).is_organiser
    ended = the_talk.end <= at and not the_talk.is_break
    return render(
        request,
        "sessions/talk.html",
        {
            **_page_context(request, at, preview, the_talk.start, the_talk.end),
            "talk": the_talk,
            "decision": decision,
            "ended": the_talk.end <= at,
            "recordings": recordings.for_talk(the_talk, published_only=not organiser) if ended else [],
            "may_publish": organiser,
            "relative": relative_label(at, the_talk.start, the_talk.end),
            "conference_day": the_talk.start.astimezone(conf_zone).date(),
            "conference_time_label": zone_label_for_range(conf_zone, the_talk.start, the_talk.end),
            "source_url": the_talk.url if the_talk.url.startswith(("https://", "http://")) else "",
            "starred": _starred(request),
            "duration_minutes": int((the_talk.end - the_talk.start).total_seconds() // 60),
        },
    )


# --- personal schedule --------------------------------------------------------------------


@login_or_guest_required
def personal(request: HttpRequest) -> HttpResponse:
    """The sessions this person starred, and their private calendar feed."""
    from sessions.feeds import personal_feed_url

    at, preview = instant_for(request)
    viewer = _viewer(request)
    context = {**_page_context(request, at, preview, at), "nav": "personal"}
    if not viewer.is_authenticated:
        return render(request, "sessions/personal.html", {**context, "needs_login": True})
    starred = _starred(request)
    talks = list(Talk.objects.filter(external_id__in=starred).select_related("room", "track").order_by("start"))
    if talks:
        context.update(_page_context(request, at, preview, talks[0].start, talks[-1].end))
    feed_url = personal_feed_url(request.user)
    return render(
        request,
        "sessions/personal.html",
        {
            **context,
            "days": _listed(request, talks, at, preview),
            "starred": starred,
            "missing": len(starred) - len(talks),
            "feed_url": feed_url,
            "webcal_url": "webcal://" + feed_url.split("://", 1)[1],
        },
    )


@require_POST
def star(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a session to (or remove it from) the personal schedule."""
    the_talk = get_object_or_404(Talk, pk=pk)
    wants_json = "application/json" in request.headers.get("Accept", "")
    if not request.user.is_authenticated:
        message = _("Log in to build your own schedule.")
        if wants_json:
            return JsonResponse({"error": message}, status=403)
        messages.error(request, message)
        return redirect(_safe_next(request, reverse("talk", args=[pk])))
    starred = request.POST.get("starred") == "1"
    if starred:
        Star.objects.get_or_create(user=request.user, talk_external_id=the_talk.external_id)
    else:
        Star.objects.filter(user=request.user, talk_external_id=the_talk.external_id).delete()
    if wants_json:
        return JsonResponse({"starred": starred})
    return redirect(_safe_next(request, reverse("talk", args=[pk])))


# --- time zone ------------------------------------------------------------------------------


def set_timezone(request: HttpRequest) -> HttpResponse:
    """Choose the zone pages are shown in (remembered in a cookie for a year)."""
    at = timezone.now()
    fallback = reverse("now")
    if request.method == "POST":
        name = request.POST.get("zone", "")
        if name == "conference":
            name = zone_name(request_conference_zone(request))
        if is_valid_zone(name):
            response = redirect(_safe_next(request, fallback))
            remember_zone(response, name)
            return response
        messages.error(request, _("“%(zone)s” is not a time zone this server knows.") % {"zone": name[:64]})
    return render(
        request,
        "sessions/timezone.html",
        {
            **_page_context(request, at, False, at),
            "zones": selector_zones(),
            "next": _safe_next(request, fallback),
        },
    )
