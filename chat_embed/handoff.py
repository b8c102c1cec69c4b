"""Chat tokens and their hand-off to the chat page.

- Tokens are minted server-side with Synapse's admin "login as user" API (no /login, no
  password, no new device), kept encrypted in our database, reused by later page loads until
  they are close to expiry, and revoked at logout.
- A page the browser loads from our own origin asks `chat:token` with its session cookie
  (and CSRF header). A chat frame inside BBB (another origin, so no cookies) carries a
  single-use ticket in its URL instead: it expires within TICKET_SECONDS, is bound to one
  person, one room and the network address of the browser it was made for, and only its hash
  is stored. The chat page redeems it at once and keeps the token in its tab.
- Guests get throwaway accounts on demand, rate-limited, in public rooms only, and read-only
  unless MATRIX_GUESTS_CAN_POST.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from chat_embed.ids import MatrixIdError, email_to_user_id
from chat_embed.matrix import MatrixClient, MatrixError, is_configured
from chat_embed.models import ChatTicket, MatrixAccount, MatrixMembership, MatrixRoom
from chat_embed.provisioning import chat_room_for, ensure_account, ensure_joined, mute_in_room
from sessions.emails import normalise_email
from sessions.models import Conference, Room
from sessions.people import Viewer, role_of, viewer_for
from sessions.throttle import client_ip

logger = logging.getLogger(__name__)

# A ticket travels in a BBB join URL, which lands in access logs: it must be dead long before
# anyone reads them. The chat page redeems it within seconds of the join.
TICKET_SECONDS = 60


class ChatRefused(Exception):
    """The person may not have a chat token for this room; str() is shown to them."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


# -- encryption at rest ------------------------------------------------------------------------
def _fernet() -> Fernet:
    key = hashlib.sha256(b"lpcfe chat tokens\x00" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode()


def _decrypt(ciphertext: str) -> str | None:
    if not ciphertext:
        return None
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        # SECRET_KEY changed: the stored token is unreadable; a new one will be minted.
        return None


# -- expiry ----------------------------------------------------------------------------------------
def _renew_margin() -> timedelta:
    margin = timedelta(minutes=settings.MATRIX_SESSION_RENEW_MINUTES)
    if settings.MATRIX_SESSION_EXPIRY != "day-end":
        margin = min(margin, timedelta(hours=int(settings.MATRIX_SESSION_EXPIRY)) / 2)
    return margin


def token_expiry(now: datetime) -> datetime:
    """When a token minted at `now` stops working: the end of the conference day (midnight in
    the conference's zone; the next one when this one is too close) or now + N hours."""
    if settings.MATRIX_SESSION_EXPIRY != "day-end":
        return now + timedelta(hours=int(settings.MATRIX_SESSION_EXPIRY))
    conference = Conference.current()
    tz = conference.tz if conference else timezone.get_default_timezone()
    day = now.astimezone(tz).date()
    while True:
        day += timedelta(days=1)
        end = datetime.combine(day, time.min, tzinfo=tz)
        if end - now > _renew_margin():
            return end


# -- accounts --------------------------------------------------------------------------------------
def account_for_person(email: str, display_name: str = "", role: str = "attendee") -> MatrixAccount:
    """The account row for a person, made (not yet on the homeserver) when provisioning missed them."""
    email = normalise_email(email)
    try:
        user_id = email_to_user_id(email, settings.MATRIX_SERVER_NAME)
    except MatrixIdError as exc:
        raise ChatRefused(str(exc), status=400) from None
    account, created = MatrixAccount.objects.get_or_create(
        user_id=user_id,
        defaults={"email": email, "display_name": display_name or email.split("@")[0], "role": role},
    )
    if not created and role and account.role != role:
        # The directory's role is current; the row may date from an earlier provisioning run.
        account.role = role
        account.save(update_fields=["role"])
    return account


def _new_guest(display_name: str, guest_key: str | None = None) -> MatrixAccount:
    return MatrixAccount.objects.create(
        user_id=f"@guest.{secrets.token_hex(6)}:{settings.MATRIX_SERVER_NAME}",
        kind=MatrixAccount.Kind.GUEST,
        guest_key=guest_key or secrets.token_urlsafe(24),
        # Marked "(guest)" already (guests.start_session): that keeps a guest from passing as an attendee.
        display_name=display_name.strip()[:120] or _("Guest"),
        role="guest",
    )


def _guest_key(session_key: str) -> str:
    """The key of a guest session's account, derived from the session: nothing is written to the
    session, so the join and the chat's token request, which a new guest sends at once, find the
    same account (the unique key lets only one of them make it)."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"lpcfe guest account\x00" + session_key.encode(), "sha256")
    return base64.urlsafe_b64encode(digest.digest()[:24]).decode()


def guest_account_for(request: HttpRequest, display_name: str) -> MatrixAccount:
    """One throwaway account per guest session (the row only: made on the server on first use)."""
    if not request.session.session_key:
        request.session.save()
    key = _guest_key(request.session.session_key)
    account = MatrixAccount.objects.filter(guest_key=key, kind=MatrixAccount.Kind.GUEST).first()
    if account is None:
        try:
            with transaction.atomic():
                account = _new_guest(display_name, key)
        except IntegrityError:  # made by a request of the same guest at the same moment
            account = MatrixAccount.objects.get(guest_key=key, kind=MatrixAccount.Kind.GUEST)
    return account


def account_for(who: AbstractBaseUser | Viewer, request: HttpRequest | None = None) -> MatrixAccount:
    if isinstance(who, Viewer):
        if who.is_guest:
            return guest_account_for(request, who.display_name) if request is not None else _new_guest(who.display_name)
        if not who.is_authenticated or not who.email:
            raise ChatRefused(_("Please log in to chat."), status=403)
        return account_for_person(who.email, who.display_name, who.role)
    email = getattr(who, "email", "") or who.get_username()
    return account_for_person(email, who.get_full_name() or "", role_of(who))


def _allow_guest_creation(address: str) -> bool:
    """Guest accounts are cheap for Synapse but not free: a global per-minute and a
    per-address per-hour budget, counted in the shared cache (so across all workers)."""
    per_minute = settings.MATRIX_GUEST_ACCOUNTS_PER_MINUTE
    per_address = settings.MATRIX_GUEST_ACCOUNTS_PER_ADDRESS_PER_HOUR
    if per_minute == 0 or per_address == 0:
        return False
    now = int(timezone.now().timestamp())
    address_hash = hashlib.sha256(address.encode()).hexdigest()[:32]
    for key, limit, ttl in (
        (f"lpcfe:mxguest:minute:{now // 60}", per_minute, 120),
        (f"lpcfe:mxguest:addr:{address_hash}:{now // 3600}", per_address, 7200),
    ):
        cache.add(key, 0, ttl)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, ttl)
            count = 1
        if count > limit:
            return False
    return True


def _may_chat(account: MatrixAccount, room: Room) -> None:
    if account.is_guest:
        if room.kind != Room.Kind.PUBLIC:
            raise ChatRefused(_("Guests may only chat in public rooms."))
        return
    if room.kind == Room.Kind.PRIVATE:
        moderators = {normalise_email(e) for e in room.moderator_emails}
        if account.role not in ("moderator", "organiser") and account.email not in moderators:
            raise ChatRefused(_("This room's chat is open to its moderators only."))


# -- tokens ------------------------------------------------------------------------------------------
def _usable_token(account: MatrixAccount, now: datetime) -> tuple[str, datetime] | None:
    if account.token_valid_until and account.token_valid_until - now > _renew_margin():
        token = _decrypt(account.token_ciphertext)
        if token:
            return token, account.token_valid_until
    return None


def token_for(client: MatrixClient, account: MatrixAccount) -> tuple[str, datetime]:
    """The person's chat token: the stored one while it has time left, else a fresh one."""
    now = timezone.now()
    found = _usable_token(account, now)
    if found:
        return found
    with transaction.atomic():
        # One minting per person even when several page loads arrive together.
        locked = MatrixAccount.objects.select_for_update().get(pk=account.pk)
        found = _usable_token(locked, now)
        if found:
            return found
        valid_until = token_expiry(now)
        token = client.login_as(locked.user_id, int(valid_until.timestamp() * 1000))
        locked.token_ciphertext = _encrypt(token)
        locked.token_valid_until = valid_until
        locked.save(update_fields=["token_ciphertext", "token_valid_until"])
    account.token_ciphertext, account.token_valid_until = locked.token_ciphertext, valid_until
    return token, valid_until


def revoke_token(client: MatrixClient, account: MatrixAccount) -> bool:
    """Log the stored token out on the homeserver and forget it; True if there was one."""
    token = _decrypt(account.token_ciphertext)
    MatrixAccount.objects.filter(pk=account.pk).update(token_ciphertext="", token_valid_until=None)
    account.token_ciphertext, account.token_valid_until = "", None
    if not token:
        return False
    client.logout(token)
    return True


# -- tickets ------------------------------------------------------------------------------------------
def bbb_chat_url(room: Room, viewer: Viewer, request: HttpRequest | None = None) -> str:
    """The chat page for the room, absolute, for our BBB plugin (sessions.chat_link's provider).

    The plugin frames it inside BBB, another origin where our session cookie is not sent, so the
    address carries a single-use ticket bound to this person, room and browser address.
    """
    url = settings.SITE_URL.rstrip("/") + reverse("chat:room", args=[room.slug])
    if not is_configured():
        return url  # the chat page says chat is not configured
    try:
        ticket = make_chat_ticket(viewer, room, request=request)
    except ChatRefused:
        return url  # the chat page explains why to the person
    return f"{url}?{urlencode({'ticket': ticket})}"


def _address_digest(address: str) -> str:
    return hashlib.sha256(b"lpcfe ticket address\x00" + address.encode()).hexdigest()


def make_chat_ticket(who: AbstractBaseUser | Viewer, room: Room, *, request: HttpRequest | None = None) -> str:
    """A single-use pass for the chat page of `room`, for `who` (a Django user or a Viewer).

    Put it in the chat page URL as `?ticket=`. With `request`, the ticket is bound to that
    browser's address (what the chat page can prove when it redeems it) and a guest keeps one
    account for their session; without it every guest ticket makes a new throwaway account.
    Raises ChatRefused when `who` may not chat in `room`.
    """
    account = account_for(who, request)
    _may_chat(account, room)
    ticket = secrets.token_urlsafe(32)
    now = timezone.now()
    ChatTicket.objects.create(
        digest=ChatTicket.hash(ticket),
        account=account,
        room=room,
        address_digest=_address_digest(client_ip(request)) if request is not None else "",
        expires_at=now + timedelta(seconds=TICKET_SECONDS),
    )
    ChatTicket.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    return ticket


def peek_ticket(ticket: str, room: Room) -> MatrixAccount | None:
    """Whose ticket this is, without using it up (the page shows guests as read-only)."""
    found = (
        ChatTicket.objects.filter(
            digest=ChatTicket.hash(ticket), room=room, used_at__isnull=True, expires_at__gt=timezone.now()
        )
        .select_related("account")
        .first()
    )
    return found.account if found else None


def release_ticket(ticket: str) -> None:
    """Make a ticket usable again after the homeserver failed to answer, so a retry works."""
    ChatTicket.objects.filter(digest=ChatTicket.hash(ticket)).update(used_at=None)


def redeem_ticket(ticket: str, room: Room, address: str = "") -> MatrixAccount:
    """Use a ticket up: the account it was made for, or ChatRefused.

    A ticket bound to an address is refused from any other (and stays unused for its owner).
    """
    now = timezone.now()
    digest = ChatTicket.hash(ticket)
    # One conditional UPDATE: of two simultaneous redemptions exactly one wins.
    used = (
        ChatTicket.objects.filter(digest=digest, room=room, used_at__isnull=True, expires_at__gt=now)
        .filter(Q(address_digest="") | Q(address_digest=_address_digest(address)))
        .update(used_at=now)
    )
    if used != 1:
        raise ChatRefused(_("This chat link has expired or was already used. Reload the page to get a new one."))
    return ChatTicket.objects.select_related("account").get(digest=digest).account


# -- the hand-off ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Handoff:
    access_token: str
    user_id: str
    device_id: str | None
    homeserver: str
    room_id: str
    room_alias: str
    read_only: bool
    expires_at: int  # milliseconds since the epoch, like Matrix timestamps

    def as_json(self) -> dict:
        return dict(self.__dict__)


def handoff(client: MatrixClient, account: MatrixAccount, room: Room, client_address: str = "") -> Handoff:
    """Everything the chat page needs: the account exists, is in the room, and has a token."""
    _may_chat(account, room)
    chat = chat_room_for(room)
    if chat is None:
        raise ChatRefused(_("This room has no chat."), status=404)
    if account.is_guest and not account.on_server and not _allow_guest_creation(client_address):
        raise ChatRefused(_("Too many guests are arriving right now. Please try again in a minute."), status=429)
    ensure_account(client, account)
    read_only = account.is_guest and not settings.MATRIX_GUESTS_CAN_POST
    if read_only and not MatrixMembership.objects.filter(account=account, room=chat).exists():
        with transaction.atomic():
            # Power levels are read-modify-write: one guest at a time per room.
            MatrixRoom.objects.select_for_update().filter(pk=chat.pk).first()
            mute_in_room(client, chat, account.user_id)
    ensure_joined(client, account, chat)
    token, valid_until = token_for(client, account)
    return Handoff(
        access_token=token,
        user_id=account.user_id,
        device_id=None,  # admin-minted tokens have no device: nothing piles up in the person's device list
        homeserver=settings.MATRIX_PUBLIC_URL,
        room_id=chat.room_id,
        room_alias=chat.alias(settings.MATRIX_SERVER_NAME),
        read_only=read_only,
        expires_at=int(valid_until.timestamp() * 1000),
    )


def reader_handoff(account: MatrixAccount, room: Room) -> Handoff:
    """For a reader of the live stream who may not post: the room, and no Matrix account at all."""
    _may_chat(account, room)
    chat = chat_room_for(room)
    if chat is None:
        raise ChatRefused(_("This room has no chat."), status=404)
    return Handoff(
        access_token="",
        user_id="",
        device_id=None,
        homeserver=settings.MATRIX_PUBLIC_URL,
        room_id=chat.room_id,
        room_alias=chat.alias(settings.MATRIX_SERVER_NAME),
        read_only=True,
        expires_at=0,
    )


def account_for_request(request: HttpRequest) -> MatrixAccount:
    viewer = viewer_for(request)
    return account_for(viewer, request)


def revoke_for_logout(client: MatrixClient, request: HttpRequest | None, user: AbstractBaseUser | None) -> None:
    """Called on logout: revoke the person's (or this guest session's) chat token."""
    accounts: list[MatrixAccount] = []
    if user is not None and getattr(user, "is_authenticated", False):
        email = getattr(user, "email", "") or user.get_username()
        try:
            user_id = email_to_user_id(email, settings.MATRIX_SERVER_NAME)
        except MatrixIdError:
            user_id = ""
        accounts.extend(MatrixAccount.objects.filter(user_id=user_id))
    session_key = request.session.session_key if request is not None and hasattr(request, "session") else None
    if session_key:
        accounts.extend(MatrixAccount.objects.filter(guest_key=_guest_key(session_key)))
    for account in accounts:
        try:
            revoke_token(client, account)
        except MatrixError as exc:
            logger.warning("Could not revoke the chat token of %s at logout: %s", account.user_id, exc)
