"""Joining a room: the POST that decides and sends people into BBB, and the room page.

The join URL is signed and carries createTime; it never appears in a page. In embed mode the
join view keeps it server-side under a single-use handle in the person's session, and the room
page's BBB frame loads `room_enter`, which redirects to it exactly once.
"""

import json
import logging
import math

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from sessions import agenda, joinrules, meetings
from sessions.bbb import BBBError
from sessions.joinrules import JoinDecision
from sessions.models import JoinLog, Room, Talk
from sessions.people import Viewer, viewer_for

logger = logging.getLogger(__name__)


def _pending_key(room: Room) -> str:
    """The session key of a room's stashed join handle: one key per room, so that joins into two
    rooms at once each keep theirs (lpcfe.sessionstore saves key by key)."""
    return f"lpcfe_bbb_join:{room.slug}"


class HttpResponseSeeOther(HttpResponseRedirect):
    status_code = 303  # after a POST, the browser follows with a GET


def _log(request: HttpRequest, room: Room, viewer: Viewer, role: str, outcome: str, reason: str = "") -> None:
    JoinLog.objects.create(
        room=room,
        room_slug=room.slug,
        user=request.user if viewer.is_authenticated else None,
        display_name=viewer.display_name[:300],
        viewer_role=viewer.role,
        bbb_role=role,
        outcome=outcome,
        reason=reason[:500],
    )


def who_may_enter(room: Room) -> str:
    if room.kind == Room.Kind.PRIVATE:
        return _("Only this room's moderators may enter.")
    window = _(
        "Attendees may enter %(attendee)d minutes before the first session of the day, speakers and "
        "moderators %(speaker)d minutes before."
    ) % {"attendee": settings.SCHEDULE_JOIN_OPEN_MINUTES, "speaker": settings.SCHEDULE_SPEAKER_OPEN_MINUTES}
    if room.kind == Room.Kind.PUBLIC:
        return _("Everyone who is logged in, and guests.") + " " + window
    return _("Everyone who is logged in (no guests).") + " " + window


def _refused(request: HttpRequest, room: Room, viewer: Viewer, decision: JoinDecision) -> HttpResponse:
    alternatives = joinrules.open_alternatives(viewer, timezone.now(), exclude=room) if decision.full else []
    context = {"room": room, "decision": decision, "who": who_may_enter(room), "alternatives": alternatives}
    return render(request, "sessions/join_refused.html", context, status=403)


@require_POST
def join(request: HttpRequest, slug: str) -> HttpResponse:
    """Decide, make sure the meeting exists, and send the person in with their role."""
    room = get_object_or_404(Room, slug=slug)
    viewer = viewer_for(request)
    if viewer.role == "anonymous":
        return redirect_to_login(reverse("room", args=[room.slug]))
    decision = joinrules.decide(room, viewer, timezone.now())
    if not decision.allowed:
        _log(request, room, viewer, decision.role, JoinLog.Outcome.REFUSED, decision.reason)
        return _refused(request, room, viewer, decision)
    try:
        url = meetings.join_url(room, viewer, decision.role, meetings.bbb_user_id(request, viewer), request)
    except BBBError as error:
        _log(request, room, viewer, decision.role, JoinLog.Outcome.FAILED, error.message)
        return render(request, "sessions/bbb_unavailable.html", {"room": room, "error": error}, status=503)
    _log(request, room, viewer, decision.role, JoinLog.Outcome.JOINED)
    meetings.count_join(room)
    if settings.BBB_JOIN_MODE == "redirect":
        return HttpResponseSeeOther(url)
    request.session[_pending_key(room)] = meetings.stash_join(url)
    return HttpResponseSeeOther(reverse("room", args=[room.slug]))


def _schedule(room: Room) -> tuple[Talk | None, Talk | None]:
    now = timezone.now()
    upcoming = list(Talk.objects.filter(room=room, end__gt=now).select_related("track").order_by("start")[:2])
    current = upcoming[0] if upcoming and upcoming[0].start <= now else None
    following = next((t for t in upcoming if t.start > now), None)
    return current, following


def _room_parts(request: HttpRequest, room: Room) -> dict:
    """The room page's join button and what it waits for: the next time the decision changes
    (opening, closing), when a page left open asks again (room.js)."""
    now = timezone.now()
    decision = joinrules.decide(room, viewer_for(request), now)
    change = decision.closes_at if decision.allowed else decision.opens_at
    wait = agenda.refresh_after(now, change if change and change > now else None)
    return {
        "room": room,
        "decision": decision,
        "who": who_may_enter(room),
        "refresh_seconds": math.ceil(wait.total_seconds()),
        "refresh_jitter": settings.SCHEDULE_REFRESH_JITTER_SECONDS,
    }


@never_cache
def room(request: HttpRequest, slug: str) -> HttpResponse:
    """BBB in a frame with the room's chat beside it, or the room and its join button."""
    room = get_object_or_404(Room, slug=slug)
    handle = request.session.get(_pending_key(room), "") if hasattr(request, "session") else ""
    in_meeting = meetings.has_join(handle)
    current, following = _schedule(room)
    context = {
        **_room_parts(request, room),
        "in_meeting": in_meeting,
        "current": current,
        "following": following,
    }
    return render(request, "sessions/room.html", context)


@never_cache
def room_state(request: HttpRequest, slug: str) -> JsonResponse:
    """The room page's join button, for a page left open to swap in when the room opens or closes."""
    room = get_object_or_404(Room, slug=slug)
    context = _room_parts(request, room)
    return JsonResponse(
        {
            "allowed": context["decision"].allowed,
            "join_html": render_to_string("sessions/_join_button.html", context, request=request),
            "placeholder_html": render_to_string("sessions/_room_placeholder.html", context, request=request),
            "refresh_after": context["refresh_seconds"],
        }
    )


@never_cache
@xframe_options_sameorigin
def room_enter(request: HttpRequest, slug: str) -> HttpResponse:
    """The BBB frame's source: redirects to the stashed join URL once, then never again."""
    room = get_object_or_404(Room, slug=slug)
    url = meetings.take_join(request.session.pop(_pending_key(room), ""))
    if url is None:
        return render(
            request,
            "sessions/room_frame.html",
            {
                "room": room,
                "heading": _("This join link has been used"),
                "message": _("Each click on Join lets you in once. Go back to the room and click Join again."),
            },
        )
    response = HttpResponseRedirect(url)
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@xframe_options_sameorigin
def room_left(request: HttpRequest, slug: str) -> HttpResponse:
    """Where BBB sends people when they leave, or when it refuses a join (with `errors`)."""
    room = get_object_or_404(Room, slug=slug)
    keys = _error_keys(request.GET.get("errors", ""))
    if not keys:
        heading, message = _("You left the meeting"), _("You can go back to the room and join again.")
    else:
        # The errors parameter is not signed: it only triggers a check with BBB itself.
        meetings.recheck_meeting(room)
        heading = _("The meeting could not be entered")
        if keys & {"mismatchCreateTimeParam", "mismatchCreateTime"}:
            message = _("The meeting was restarted after you clicked Join. Go back to the room and join again.")
        elif keys & {"meetingForciblyEnded"}:
            message = _("A moderator ended this meeting. It can be joined again in a few minutes.")
        elif keys & {"maxParticipantsReached"}:
            message = _("The meeting is full.")
        else:
            message = _("BigBlueButton refused the join. Go back to the room and join again.")
        logger.info("BBB refused a join into %s: %s", room.slug, ",".join(sorted(keys)))
    return render(request, "sessions/room_frame.html", {"room": room, "heading": heading, "message": message})


def _error_keys(raw: str) -> set[str]:
    if not raw:
        return set()
    try:
        errors = json.loads(raw)
    except ValueError:
        return {"unknown"}
    if not isinstance(errors, list):
        return {"unknown"}
    return {str(e.get("key", "unknown"))[:60] for e in errors if isinstance(e, dict)} or {"unknown"}
