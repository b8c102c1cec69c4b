"""The chat's live fan-out: the homeserver pushes each room event once (Matrix Application
Service API), we publish what the chat page renders to one nchan channel per room, and nginx
hands it to every viewer's EventSource.

- `receive_transaction` publishes a transaction's messages, edits and redactions once per
  transaction ID (a retry after a lost answer publishes nothing); membership, typing, receipts
  and presence are never published.
- `may_subscribe` is the rule nginx asks about for every subscription (nchan_authorize_request):
  the same as for a chat token (guests only in public rooms, private rooms for their moderators).
  A page framed by BBB has no cookies: it holds a signed pass (from the token hand-off) that
  buys single-use tickets, one per connection.
- `history_page` serves "load earlier" once per room and page from the shared cache.
- lpcfe.deployment writes the nchan parts of nginx's site and the registration for Synapse.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat_embed.models import AppserviceTransaction, MatrixAccount, MatrixRoom
from lpcfe.deployment import appservice_registration
from sessions.models import Room
from sessions.people import Viewer

logger = logging.getLogger(__name__)

SHOWN_TYPES = ("m.room.message", "m.room.redaction")
CONTENT_KEYS = ("msgtype", "body", "m.relates_to", "m.new_content")
MAX_BODY = 16_000  # characters; the composer allows 4,000, other clients may send more
PASS_SALT = "lpcfe.live.pass"  # noqa: S105 (a signing namespace, not a secret)
PASS_MAX_AGE = timedelta(hours=24)
TICKET_SECONDS = 60
HISTORY_PAGE = 50
TRANSACTIONS_KEPT = timedelta(days=7)


class LiveError(Exception):
    """Publishing or reading history failed; str() says what, without secrets."""


def is_configured() -> bool:
    """A live endpoint exists: the chat page subscribes instead of syncing."""
    return bool(settings.LIVE_SUBSCRIBE_PATH and settings.LIVE_PUBLISH_URL and appservice_configured())


def appservice_configured() -> bool:
    return bool(settings.MATRIX_APPSERVICE_HS_TOKEN and settings.MATRIX_APPSERVICE_AS_TOKEN)


def bot_user_id() -> str:
    return f"@{settings.MATRIX_APPSERVICE_BOT}:{settings.MATRIX_SERVER_NAME}"


# -- channels ----------------------------------------------------------------------------------
def channel_for(room: MatrixRoom) -> str:
    return f"room{room.pk}"


def room_for_channel(channel: str) -> MatrixRoom | None:
    if not channel.startswith("room") or not channel[4:].isdigit():
        return None
    return MatrixRoom.objects.filter(pk=int(channel[4:])).exclude(room_id="").select_related("schedule_room").first()


def subscribe_url(room: MatrixRoom) -> str:
    return settings.LIVE_SUBSCRIBE_PATH + channel_for(room)


# -- what is published -------------------------------------------------------------------------
def slim(event: dict[str, Any], names: dict[str, str]) -> dict[str, Any] | None:
    """The part of a room event the chat page renders, or None for anything it does not show."""
    kind = event.get("type")
    if kind not in SHOWN_TYPES or "state_key" in event or not isinstance(event.get("event_id"), str):
        return None
    content = event.get("content") if isinstance(event.get("content"), dict) else {}
    out: dict[str, Any] = {
        "event_id": event["event_id"],
        "type": kind,
        "sender": str(event.get("sender", "")),
        "origin_server_ts": event.get("origin_server_ts") or 0,
    }
    if kind == "m.room.redaction":
        out["redacts"] = event.get("redacts") or content.get("redacts") or ""
        return out
    kept = {key: content[key] for key in CONTENT_KEYS if key in content}
    if isinstance(kept.get("body"), str):
        kept["body"] = kept["body"][:MAX_BODY]
    new = kept.get("m.new_content")
    if isinstance(new, dict):
        kept["m.new_content"] = {k: new[k] for k in ("msgtype", "body") if k in new}
    out["content"] = kept
    if out["sender"] in names:
        out["name"] = names[out["sender"]]
    return out


def display_names(user_ids: Iterable[str]) -> dict[str, str]:
    """Names from our own account table: no homeserver request per message."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    return dict(MatrixAccount.objects.filter(user_id__in=wanted).values_list("user_id", "display_name"))


_http = requests.Session()


def publish(channel: str, payload: bytes) -> None:
    url = f"{settings.LIVE_PUBLISH_URL}/{channel}"
    try:
        response = _http.post(
            url, data=payload, headers={"Content-Type": "application/json"}, timeout=settings.LIVE_TIMEOUT
        )
    except requests.RequestException as exc:
        name = exc.__class__.__name__
        raise LiveError(f"The live publisher at {settings.LIVE_PUBLISH_URL} is not answering ({name}).") from None
    if response.status_code not in (200, 201, 202):
        raise LiveError(f"The live publisher answered HTTP {response.status_code} for channel {channel}.")


def publish_events(events: list[dict[str, Any]]) -> int:
    """Publish the shown events among `events`, in order; returns how many were published."""
    room_ids = {ev.get("room_id") for ev in events if ev.get("type") in SHOWN_TYPES}
    rooms = {r.room_id: r for r in MatrixRoom.objects.filter(room_id__in=room_ids)} if room_ids else {}
    names = display_names(ev.get("sender", "") for ev in events if ev.get("room_id") in rooms)
    published = 0
    for event in events:
        room = rooms.get(event.get("room_id"))
        shown = slim(event, names) if room else None
        if shown is None:
            continue
        publish(channel_for(room), json.dumps(shown, separators=(",", ":")).encode())
        published += 1
    return published


def receive_transaction(txn_id: str, events: list[dict[str, Any]]) -> int | None:
    """Publish one pushed transaction; None if this transaction ID was published before.

    Raises LiveError when publishing failed: nothing is recorded, so the homeserver's retry of the
    same transaction publishes it (viewers drop what they already have by event ID). The homeserver
    sends one transaction at a time, so no lock is held while publishing.
    """
    if AppserviceTransaction.objects.filter(txn_id=txn_id).exists():
        return None
    published = publish_events(events)
    try:
        with transaction.atomic():
            AppserviceTransaction.objects.create(txn_id=txn_id, events=published)
    except IntegrityError:
        return None  # recorded meanwhile by another front-end process
    AppserviceTransaction.objects.filter(received_at__lt=timezone.now() - TRANSACTIONS_KEPT).delete()
    return published


# -- who may subscribe -------------------------------------------------------------------------
def may_read(viewer: Viewer, room: MatrixRoom) -> bool:
    """The chat token's rules, for reading: guests only public rooms; a private room's own chat
    for its moderators and organisers; every other room for every attendee."""
    if viewer.is_guest:
        return room.public
    if not viewer.is_authenticated:
        return False
    private = room.schedule_room is not None and room.schedule_room.kind == Room.Kind.PRIVATE
    if not private or viewer.role in ("moderator", "organiser"):
        return True
    return (viewer.email or "").lower() in {e.lower() for e in room.schedule_room.moderator_emails}


def make_pass(account: MatrixAccount, room: MatrixRoom) -> str:
    """A signed pass for one account and channel, for a page without cookies (framed by BBB)."""
    return signing.dumps({"a": account.pk, "c": channel_for(room)}, salt=PASS_SALT, compress=True)


def read_pass(value: str) -> tuple[int, str] | None:
    try:
        data = signing.loads(value, salt=PASS_SALT, max_age=PASS_MAX_AGE)
    except signing.BadSignature:
        return None
    return int(data["a"]), str(data["c"])


def _ticket_key(ticket: str) -> str:
    return "lpcfe:live:ticket:" + hashlib.sha256(ticket.encode()).hexdigest()


def make_ticket(channel: str) -> str:
    """A single-use ticket for one subscription to `channel`, valid for a minute."""
    ticket = secrets.token_urlsafe(24)
    cache.set(_ticket_key(ticket), channel, TICKET_SECONDS)
    return ticket


def redeem_ticket(ticket: str, channel: str) -> bool:
    key = _ticket_key(ticket)
    # get, then delete: of two simultaneous redemptions only one deletes the key.
    return cache.get(key) == channel and bool(cache.delete(key))


def ticket_in(original_uri: str) -> str:
    return (parse_qs(urlsplit(original_uri).query).get("ticket") or [""])[0][:128]


# -- history -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryPage:
    events: list[dict[str, Any]]  # newest first, like /messages with dir=b
    more: bool

    def as_json(self) -> dict[str, Any]:
        return {"chunk": self.events, "more": self.more}


def _bot_get(path: str, params: dict[str, Any]) -> dict[str, Any]:
    url = settings.MATRIX_URL.rstrip("/") + "/_matrix/client/v3" + path
    headers = {"Authorization": f"Bearer {settings.MATRIX_APPSERVICE_AS_TOKEN}"}
    try:
        response = _http.get(url, params=params, headers=headers, timeout=settings.MATRIX_TIMEOUT)
    except requests.RequestException as exc:
        raise LiveError(f"The homeserver is not answering ({exc.__class__.__name__}).") from None
    if response.status_code != 200:
        raise LiveError(f"The homeserver answered HTTP {response.status_code} for the room's history.")
    return response.json()


def history_page(room: MatrixRoom, before: str) -> HistoryPage:
    """The messages before event `before` (the oldest a viewer shows), the same for every viewer
    and so kept once per room and page in the shared cache."""
    key = "lpcfe:live:history:" + hashlib.sha256(f"{room.room_id}\x00{before}".encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return HistoryPage(**cached)
    event_filter = json.dumps({"types": list(SHOWN_TYPES), "lazy_load_members": True})
    room_path = "/rooms/" + quote(room.room_id, safe="")
    context = _bot_get(f"{room_path}/context/{quote(before, safe='')}", {"limit": 0, "filter": event_filter})
    answer = _bot_get(
        f"{room_path}/messages",
        {"dir": "b", "from": context.get("start", ""), "limit": HISTORY_PAGE, "filter": event_filter},
    )
    chunk = answer.get("chunk") or []
    names = display_names(ev.get("sender", "") for ev in chunk)
    for member in answer.get("state") or []:
        if member.get("type") == "m.room.member" and isinstance((member.get("content") or {}).get("displayname"), str):
            names.setdefault(member.get("state_key", ""), member["content"]["displayname"])
    events = []
    for ev in chunk:
        shown = slim(ev, names)
        if shown is not None:
            if (ev.get("unsigned") or {}).get("redacted_because"):
                shown["unsigned"] = {"redacted_because": {}}
            events.append(shown)
    page = HistoryPage(events=events, more=bool(chunk) and bool(answer.get("end")))
    cache.set(key, {"events": page.events, "more": page.more}, settings.LIVE_HISTORY_CACHE_SECONDS)
    return page


# -- the homeserver's side: the registration file ----------------------------------------------
def registration(url: str, alias_patterns: list[str] | None = None) -> dict[str, Any]:
    """Synapse's registration for our application service (its `app_service_config_files`).

    `url` is where the homeserver reaches the front end. The bot's user is ours alone; the
    rooms are named by their aliases (all aliases with MATRIX_ROOM_ALIAS_PREFIX, else each
    provisioned room's), and the bot is in every room besides.
    """
    server = re.escape(settings.MATRIX_SERVER_NAME)
    if alias_patterns is None:
        if settings.MATRIX_ROOM_ALIAS_PREFIX:
            alias_patterns = [f"#{re.escape(settings.MATRIX_ROOM_ALIAS_PREFIX)}.*:{server}"]
        else:
            localparts = MatrixRoom.objects.order_by("alias_localpart").values_list("alias_localpart", flat=True)
            alias_patterns = [f"#{re.escape(lp)}:{server}" for lp in localparts]
    return appservice_registration(
        url,
        hs_token=settings.MATRIX_APPSERVICE_HS_TOKEN,
        as_token=settings.MATRIX_APPSERVICE_AS_TOKEN,
        server_name=settings.MATRIX_SERVER_NAME,
        bot=settings.MATRIX_APPSERVICE_BOT,
        aliases=alias_patterns,
    )
