"""Endpoints of the live fan-out: the homeserver's pushes (Application Service API), nginx's
question before each subscription, tickets for pages without cookies, and shared history pages.

Views stay short: the rules live in chat_embed.live.
"""

import hmac
import json
import logging
from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from chat_embed import live
from chat_embed.models import MatrixAccount, MatrixRoom
from sessions import guests
from sessions.models import Room
from sessions.people import GUEST_SESSION_KEY, viewer_for

logger = logging.getLogger(__name__)

MAX_TRANSACTION_BYTES = 10 * 1024 * 1024


def _matrix_error(status: int, errcode: str, message: str) -> JsonResponse:
    return JsonResponse({"errcode": errcode, "error": message}, status=status)


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else ""


@csrf_exempt  # called by the homeserver, authenticated by its hs_token
def appservice_transaction(request: HttpRequest, txn_id: str) -> HttpResponse:
    """PUT /_matrix/app/v1/transactions/{txnId}: publish the events once, answer at once."""
    if not live.appservice_configured():
        return _matrix_error(404, "M_UNRECOGNIZED", "No application service is configured here.")
    token = _bearer(request)
    if not token:
        return _matrix_error(401, "M_UNAUTHORIZED", "Missing hs_token.")
    if not hmac.compare_digest(token.encode(), settings.MATRIX_APPSERVICE_HS_TOKEN.encode()):
        logger.warning("Application service transaction %s refused: wrong hs_token", txn_id[:64])
        return _matrix_error(403, "M_FORBIDDEN", "Wrong hs_token.")
    if request.method != "PUT":
        return _matrix_error(405, "M_UNRECOGNIZED", "Use PUT.")
    if len(request.body) > MAX_TRANSACTION_BYTES:
        return _matrix_error(413, "M_TOO_LARGE", "Transaction too large.")
    try:
        body = json.loads(request.body)
        events = body.get("events", [])
        if not isinstance(events, list):
            raise ValueError
    except ValueError:
        return _matrix_error(400, "M_NOT_JSON", "The body must be a JSON object with a list of events.")
    try:
        live.receive_transaction(txn_id[:255], [ev for ev in events if isinstance(ev, dict)])
    except live.LiveError as exc:
        # Not acknowledged: the homeserver retries this transaction, so nothing is lost.
        logger.error("Application service transaction %s not published: %s", txn_id[:64], exc)
        return _matrix_error(503, "M_UNKNOWN", "Publishing failed; retry later.")
    return JsonResponse({})


@csrf_exempt
def appservice_query(request: HttpRequest, **kwargs: str) -> HttpResponse:
    """The homeserver asks whether we make users or rooms on demand: we never do."""
    if not live.appservice_configured() or not hmac.compare_digest(
        _bearer(request).encode(), settings.MATRIX_APPSERVICE_HS_TOKEN.encode()
    ):
        return _matrix_error(403, "M_FORBIDDEN", "Wrong hs_token.")
    return _matrix_error(404, "M_NOT_FOUND", "Not ours.")


@require_safe
def authorize(request: HttpRequest) -> HttpResponse:
    """nginx asks (nchan_authorize_request) before each subscription: 204 yes, 403 no."""
    channel = request.headers.get("X-Channel-Id", "")
    room = live.room_for_channel(channel)
    if room is None:
        return HttpResponse(status=403)
    ticket = live.ticket_in(request.headers.get("X-Original-URI", ""))
    allowed = live.redeem_ticket(ticket, channel) if ticket else live.may_read(viewer_for(request), room)
    return HttpResponse(status=204 if allowed else 403)


@csrf_exempt  # the pass is the proof; no cookies are involved
@require_POST
def ticket(request: HttpRequest) -> JsonResponse:
    """{"pass": ...} → {"ticket": ...}: one single-use ticket for one subscription."""
    try:
        body = json.loads(request.body[:4096] or b"{}")
        found = live.read_pass(str(body.get("pass", ""))) if isinstance(body, dict) else None
    except ValueError:
        found = None
    if found is None:
        return JsonResponse({"error": "expired"}, status=403)
    response = JsonResponse({"ticket": live.make_ticket(found[1])})
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def history(request: HttpRequest, room_slug: str) -> JsonResponse:
    """?before=<event ID> → the page of messages before it; the same for every viewer."""
    room = get_object_or_404(Room, slug=room_slug)
    if not live.is_configured():
        return JsonResponse({"error": "no live endpoint"}, status=404)
    from chat_embed.provisioning import chat_room_for

    chat = chat_room_for(room)
    before = request.GET.get("before", "")[:255]
    if chat is None or not before.startswith("$"):
        return JsonResponse({"error": "bad request"}, status=400)
    if not live.may_read(viewer_for(request), chat) and not _pass_allows(request, chat):
        return JsonResponse({"error": "forbidden"}, status=403)
    try:
        page = live.history_page(chat, before)
    except live.LiveError as exc:
        logger.error("History of %s before %s failed: %s", chat.room_id, before, exc)
        return JsonResponse({"error": str(exc)}, status=503)
    response = JsonResponse(page.as_json())
    response["Cache-Control"] = "no-store"
    return response


def _pass_allows(request: HttpRequest, chat: MatrixRoom) -> bool:
    found = live.read_pass(request.headers.get("X-Live-Pass", ""))
    return found is not None and found[1] == live.channel_for(chat)


def account_for_pass(value: str) -> MatrixAccount | None:
    found = live.read_pass(value)
    return MatrixAccount.objects.filter(pk=found[0]).first() if found else None


def live_answer(account: MatrixAccount, room_id: str, room: Room, *, cookies: bool) -> dict:
    """Where the chat page subscribes; a page without cookies also gets a pass for tickets."""
    chat = MatrixRoom.objects.get(room_id=room_id)
    answer = {
        "url": live.subscribe_url(chat),
        "history": reverse("chat:history", args=[room.slug]),
        "ticket_url": reverse("chat:live_ticket"),
    }
    if not cookies:
        answer["pass"] = live.make_pass(account, chat)
    return answer


class AuthorizeFirstMiddleware:
    """Answers nginx's question before each subscription (authorize above) from the session alone.

    When a keynote starts, hundreds of viewers subscribe at once and each asks the front end; the page
    middleware (zones, locale, CSP, messages, guest sessions) is a good part of what each answer costs, and
    nginx discards everything but the status. First in MIDDLEWARE; every other path goes on as usual.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.store = import_module(settings.SESSION_ENGINE).SessionStore
        self.path = ""  # the URLconf is not loaded yet when middleware is built

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.path = self.path or reverse("chat:live_authorize")
        if request.path_info != self.path or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        request.session = self.store(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
        request.user = SimpleLazyObject(lambda: auth.get_user(request))
        # GuestSessionMiddleware ends such a session at the next page; until then it reads nothing.
        if request.session.get(GUEST_SESSION_KEY) and not guests.is_on():
            return HttpResponse(status=403)
        return authorize(request)
