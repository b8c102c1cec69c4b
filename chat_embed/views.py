"""The chat page (framed beside BBB) and the token hand-off it calls.

Views stay short: the rules live in chat_embed.handoff, the homeserver calls in chat_embed.matrix.
"""

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt, csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_POST

from chat_embed import handoff, live, live_views
from chat_embed.matrix import MatrixError, admin_client, is_configured
from chat_embed.provisioning import ensure_account
from sessions.models import Room
from sessions.people import viewer_for
from sessions.throttle import client_ip

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10


@xframe_options_exempt  # framed by the room page and by BBB: lpcfe.csp names who may
@ensure_csrf_cookie
def chat_room(request: HttpRequest, room_slug: str) -> HttpResponse:
    """The chat panel for one room; its script fetches a token from `token_url`."""
    room = get_object_or_404(Room, slug=room_slug)
    ticket = request.GET.get("ticket", "")[:128]
    viewer = viewer_for(request)
    read_only = viewer.is_guest and not settings.MATRIX_GUESTS_CAN_POST
    if ticket:
        holder = handoff.peek_ticket(ticket, room)
        read_only = bool(holder and holder.is_guest and not settings.MATRIX_GUESTS_CAN_POST)
    response = render(
        request,
        "chat_embed/chat.html",
        {
            "room": room,
            "token_url": reverse("chat:token", args=[room.slug]),
            "ticket": ticket,
            "matrix_configured": is_configured(),
            "read_only": read_only,
        },
    )
    response["Cache-Control"] = "no-store"  # the page may carry a ticket
    return response


def _json_error(message: str, status: int) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _deliver(
    request: HttpRequest, account_lookup, room: Room, *, cookies: bool = True, sync: bool = False
) -> JsonResponse:
    """The hand-off answer; with a live endpoint, also where to subscribe. A guest who may not
    post reads the live stream only and gets no Matrix account, unless the page asks to `sync`
    (its live stream failed)."""
    try:
        account = account_lookup()
        if live.is_configured() and not sync and account.is_guest and not settings.MATRIX_GUESTS_CAN_POST:
            body = handoff.reader_handoff(account, room).as_json()
        else:
            body = handoff.handoff(admin_client(), account, room, client_ip(request)).as_json()
    except handoff.ChatRefused as exc:
        return _json_error(str(exc), exc.status)
    except MatrixError as exc:
        logger.error("Chat token for room %s failed: %s", room.slug, exc)
        return _json_error(_("The chat server is not answering right now. Please try again shortly."), 503)
    if live.is_configured():
        body["live"] = live_views.live_answer(account, body["room_id"], room, cookies=cookies)
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return response


@csrf_protect
def _token_for_session(request: HttpRequest, room: Room, sync: bool) -> JsonResponse:
    return _deliver(request, lambda: handoff.account_for_request(request), room, sync=sync)


@csrf_exempt  # the ticket path carries its own proof and no cookies; the session path checks CSRF below
@require_POST
def chat_token(request: HttpRequest, room_slug: str) -> HttpResponse:
    """POST → {access_token, user_id, device_id, homeserver, room_id, room_alias, read_only, expires_at,
    live?}; `live` (with a live endpoint) says where to subscribe, and a guest who may not post
    then gets no access token at all.

    With {"ticket": "..."} in the JSON body: redeems that single-use ticket (framed by BBB).
    With {"pass": "..."}: the live pass of a framed page whose live stream failed (a token for /sync).
    Without: the logged-in (or guest) session, with the X-CSRFToken header; {"sync": true} asks
    for a Matrix token even where reading needs none.
    """
    room = get_object_or_404(Room, slug=room_slug)
    if not is_configured():
        return _json_error(_("Chat is not configured on this server."), 503)
    if len(request.body) > 4096:
        return _json_error(_("Request too large."), 400)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return _json_error(_("The request body must be JSON."), 400)
    body = body if isinstance(body, dict) else {}
    ticket, live_pass, sync = body.get("ticket"), body.get("pass"), body.get("sync") is True
    if ticket or live_pass:
        if not isinstance(ticket or live_pass, str):
            return _json_error(_("The ticket must be a string."), 400)
        if live_pass:
            return _token_by_pass(request, room, live_pass)
        return _token_by_ticket(request, room, ticket)
    return _token_for_session(request, room, sync)


def _token_by_ticket(request: HttpRequest, room: Room, ticket: str) -> JsonResponse:
    try:
        account = handoff.redeem_ticket(ticket, room, client_ip(request))
    except handoff.ChatRefused as exc:
        return _json_error(str(exc), exc.status)
    response = _deliver(request, lambda: account, room, cookies=False)
    if response.status_code == 503:
        handoff.release_ticket(ticket)  # the homeserver failed, not the person: let the page retry
    return response


def _token_by_pass(request: HttpRequest, room: Room, live_pass: str) -> JsonResponse:
    """A framed reader whose live stream failed: a Matrix token to read with /sync instead."""
    account = live_views.account_for_pass(live_pass)
    if account is None:
        return _json_error(_("This chat link has expired or was already used. Reload the page to get a new one."), 403)
    return _deliver(request, lambda: account, room, cookies=False, sync=True)


def _back_to_profile() -> str:
    try:
        return reverse("profile")
    except NoReverseMatch:
        return reverse("now")


@login_required
@require_POST
def set_matrix_password(request: HttpRequest) -> HttpResponse:
    """Give the person's Matrix account a password, for Element or any other client."""
    password = request.POST.get("password", "")
    if password != request.POST.get("password_again", ""):
        messages.error(request, _("The two passwords differ."))
        return HttpResponseRedirect(_back_to_profile())
    try:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValidationError(
                _("Use at least %(count)d characters.") % {"count": MIN_PASSWORD_LENGTH}, code="too_short"
            )
        validate_password(password, request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(_back_to_profile())
    try:
        client = admin_client()
        account = handoff.account_for(request.user)
        ensure_account(client, account)
        client.put_user(account.user_id, password=password)
    except (MatrixError, handoff.ChatRefused) as exc:
        logger.error("Setting a Matrix password failed: %s", exc)
        messages.error(request, _("The chat server did not accept the change. Please try again later."))
        return HttpResponseRedirect(_back_to_profile())
    messages.success(
        request, _("Your Matrix password is set. Sign in to %(id)s from any Matrix client.") % {"id": account.user_id}
    )
    return HttpResponseRedirect(_back_to_profile())
