"""What lpcfe has made on the Matrix homeserver, so provisioning can resume and re-runs
change nothing, and the chat tokens it holds for people (encrypted, never shown)."""

import hashlib

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sessions.models import Room, Track


class MatrixRoom(models.Model):
    """One chat room: per track, per public room, or a room's own chat."""

    key = models.CharField(_("key"), max_length=200, unique=True, help_text=_("track:<slug> or room:<slug>"))
    alias_localpart = models.CharField(_("alias"), max_length=200, unique=True)
    room_id = models.CharField(_("room ID"), max_length=255, blank=True)
    name = models.CharField(_("name"), max_length=255)
    topic = models.TextField(_("topic"), blank=True)
    public = models.BooleanField(
        _("public"), default=False, help_text=_("Listed, world-readable, open to guests; otherwise attendees only.")
    )
    track = models.ForeignKey(Track, on_delete=models.SET_NULL, null=True, blank=True, related_name="matrix_rooms")
    schedule_room = models.ForeignKey(
        Room, on_delete=models.SET_NULL, null=True, blank=True, related_name="matrix_rooms"
    )
    # Hash of the name/topic/settings/moderators last written to the homeserver: a re-run
    # with an unchanged schedule sends nothing.
    applied_hash = models.CharField(max_length=64, blank=True)
    # The moderators provisioning put at power level 50, so a re-run removes only its own.
    managed_moderators = models.JSONField(default=list, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("Matrix room")
        verbose_name_plural = _("Matrix rooms")

    def __str__(self) -> str:
        return self.name

    def alias(self, server_name: str) -> str:
        return f"#{self.alias_localpart}:{server_name}"


class MatrixAccount(models.Model):
    class Kind(models.TextChoices):
        PERSON = "person", _("Attendee")
        GUEST = "guest", _("Guest")

    user_id = models.CharField(_("Matrix ID"), max_length=255, unique=True)
    email = models.CharField(_("email"), max_length=254, unique=True, null=True, blank=True)
    guest_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERSON)
    display_name = models.CharField(_("display name"), max_length=255)
    role = models.CharField(_("role"), max_length=20, default="attendee")
    on_server = models.BooleanField(_("created on the homeserver"), default=False)
    synced_display_name = models.CharField(max_length=255, blank=True)
    # The chat token: Fernet-encrypted with a key derived from SECRET_KEY (see tokens.py).
    token_ciphertext = models.TextField(blank=True)
    token_valid_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user_id"]
        verbose_name = _("Matrix account")
        verbose_name_plural = _("Matrix accounts")

    def __str__(self) -> str:
        return self.user_id

    @property
    def is_guest(self) -> bool:
        return self.kind == self.Kind.GUEST


class MatrixMembership(models.Model):
    account = models.ForeignKey(MatrixAccount, on_delete=models.CASCADE, related_name="memberships")
    room = models.ForeignKey(MatrixRoom, on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "room"], name="one_membership_per_room")]

    def __str__(self) -> str:
        return f"{self.account} in {self.room}"


class ChatTicket(models.Model):
    """A single-use, short-lived pass from a page to the chat frame. Only its hash is kept."""

    digest = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(MatrixAccount, on_delete=models.CASCADE, related_name="tickets")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="chat_tickets")
    # Salted hash of the address of the browser the ticket was made for; empty: not bound.
    address_digest = models.CharField(max_length=64, blank=True, default="")
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"ticket for {self.account} in {self.room}"

    @staticmethod
    def hash(ticket: str) -> str:
        return hashlib.sha256(ticket.encode()).hexdigest()


class AppserviceTransaction(models.Model):
    """A transaction the homeserver pushed to us and we published: a retry of the same ID
    (after a lost answer) is acknowledged without publishing again."""

    txn_id = models.CharField(max_length=255, unique=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    events = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.txn_id
