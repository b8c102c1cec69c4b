"""The conference schedule: one conference, its tracks, rooms and sessions.

Times are stored in UTC; the conference's IANA zone is kept for display and for importers
whose sources give wall-clock times.
"""

import threading
import zoneinfo
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour of the form #rrggbb."))


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value}) from None


# A page asks for the conference several times (its zone, the header, the join rules); during a
# request they share one query. Set by ConferenceMemoMiddleware, so commands always read afresh.
_request_memo = threading.local()


class Conference(models.Model):
    name = models.CharField(_("name"), max_length=200)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    start_date = models.DateField(_("first day"), null=True, blank=True)
    end_date = models.DateField(_("last day"), null=True, blank=True)
    source = models.CharField(_("schedule source"), max_length=500, blank=True)
    imported_at = models.DateTimeField(_("last import"), null=True, blank=True)

    class Meta:
        verbose_name = _("conference")
        verbose_name_plural = _("conferences")

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @classmethod
    def current(cls) -> "Conference | None":
        memo = getattr(_request_memo, "conference", None)
        if memo is None:
            return cls.objects.order_by("pk").first()
        if not memo:
            memo.append(cls.objects.order_by("pk").first())
        return memo[0]

    @staticmethod
    def forget_current() -> None:
        """After a change to the conference: the rest of this request reads it again."""
        if getattr(_request_memo, "conference", None):
            _request_memo.conference = []


class ConferenceMemoMiddleware:
    """Lets Conference.current() query once per request."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        _request_memo.conference = []
        try:
            return self.get_response(request)
        finally:
            _request_memo.conference = None


class Track(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    colour = models.CharField(_("colour"), max_length=7, default="#5b6770", validators=[colour_validator])
    matrix_room = models.CharField(
        _("Matrix room"), max_length=255, blank=True, help_text=_("Alias local part, e.g. kernel-summit.")
    )
    extra = models.TextField(_("extra text"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("track")
        verbose_name_plural = _("tracks")

    def __str__(self) -> str:
        return self.name

    @property
    def text_colour(self) -> str:
        """Black or white, whichever reads better on the track's colour (at least 4.5:1 either way)."""
        return "#000000" if _luminance(self.colour) > 0.179 else "#ffffff"


class Room(models.Model):
    class Kind(models.TextChoices):
        SESSION = "session", _("Session room")
        HACK = "hack", _("Hack room")
        PRIVATE = "private", _("Private room")
        PUBLIC = "public", _("Public room (guests allowed)")

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.SESSION)
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True, help_text=_("Empty: no limit."))
    bbb_server = models.CharField(_("BBB server"), max_length=255, blank=True)
    matrix_room = models.CharField(_("Matrix room"), max_length=255, blank=True)
    moderator_emails = models.JSONField(_("moderators' emails"), default=list, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")

    def __str__(self) -> str:
        return self.name


class Talk(models.Model):
    """One scheduled session (a talk, a microconference block or a break)."""

    external_id = models.CharField(_("external ID"), max_length=200, unique=True)
    title = models.CharField(_("title"), max_length=500)
    start = models.DateTimeField(_("start (UTC)"), db_index=True)
    end = models.DateTimeField(_("end (UTC)"), db_index=True)
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="talks", verbose_name=_("room"))
    track = models.ForeignKey(
        Track, on_delete=models.SET_NULL, null=True, blank=True, related_name="talks", verbose_name=_("track")
    )
    speaker_names = models.JSONField(_("speakers"), default=list, blank=True)
    speaker_emails = models.JSONField(_("speakers' emails"), default=list, blank=True)
    abstract = models.TextField(_("abstract"), blank=True)
    url = models.URLField(_("URL"), max_length=500, blank=True)
    is_break = models.BooleanField(_("break"), default=False)
    # Grows whenever the time or room changes, so calendar clients update their copy.
    sequence = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["start", "room__position", "room__name"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="talk_ends_after_start")
        ]

    def __str__(self) -> str:
        return self.title


class Star(models.Model):
    """A session someone put on their personal schedule.

    Keyed by the session's external ID rather than its row, so a star survives an import
    that removes a session and later brings it back.
    """

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="stars", verbose_name=_("user"))
    talk_external_id = models.CharField(_("session"), max_length=200)
    created = models.DateTimeField(_("starred at"), auto_now_add=True)

    class Meta:
        verbose_name = _("starred session")
        verbose_name_plural = _("starred sessions")
        constraints = [models.UniqueConstraint(fields=["user", "talk_external_id"], name="one_star_per_session")]

    def __str__(self) -> str:
        return f"{self.user} ★ {self.talk_external_id}"


class CalendarToken(models.Model):
    """The key of someone's private calendar feed URL.

    The URL carries the key and an HMAC of it (see sessions.feeds); only the key is stored,
    so the database alone does not give away working feed URLs. Resetting replaces the key,
    which makes every earlier URL fail.
    """

    user = models.OneToOneField(
        "auth.User", on_delete=models.CASCADE, related_name="calendar_token", verbose_name=_("user")
    )
    key = models.CharField(_("key"), max_length=32, unique=True)
    created = models.DateTimeField(_("created"), auto_now=True)

    class Meta:
        verbose_name = _("calendar feed key")
        verbose_name_plural = _("calendar feed keys")

    def __str__(self) -> str:
        return str(self.user)


class JoinLog(models.Model):
    """One join attempt through lpcfe: who, which room, with which role, and what happened."""

    class Outcome(models.TextChoices):
        JOINED = "joined", _("joined")
        REFUSED = "refused", _("refused")
        FAILED = "failed", _("BBB failed")

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    room = models.ForeignKey(
        Room, on_delete=models.SET_NULL, null=True, related_name="join_logs", verbose_name=_("room")
    )
    room_slug = models.CharField(_("room slug"), max_length=100)  # kept if the room is removed
    user = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("user")
    )
    display_name = models.CharField(_("name"), max_length=300)
    viewer_role = models.CharField(_("role"), max_length=20)  # attendee, speaker, ..., guest
    bbb_role = models.CharField(_("BBB role"), max_length=10)  # MODERATOR or VIEWER
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("join")
        verbose_name_plural = _("joins")

    def __str__(self) -> str:
        return f"{self.display_name} → {self.room_slug} ({self.outcome})"


# --- People: the embedded attendee directory, regcode copies, guest mode --------------------


class Attendee(models.Model):
    """The local attendee directory, used for login when no LDAP server is configured.

    Filled by `manage.py import_attendees`. The regcode is kept only as a salted hash.
    """

    class Role(models.TextChoices):
        ATTENDEE = "attendee", _("Attendee")
        SPEAKER = "speaker", _("Speaker")
        MODERATOR = "moderator", _("Moderator")
        ORGANISER = "organiser", _("Organiser")

    email = models.EmailField(_("email"), max_length=254, unique=True, help_text=_("Stored in lower case."))
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.ATTENDEE)
    regcode_hash = models.CharField(_("registration code (hashed)"), max_length=200)
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    class Meta:
        ordering = ["email"]
        verbose_name = _("attendee")
        verbose_name_plural = _("attendees")

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class SealedRegcode(models.Model):
    """An encrypted copy of an imported regcode, kept only to answer "email me my code again".

    Directories store regcodes hashed, so they cannot be mailed from there. The key is derived
    from SECRET_KEY: a copy of the database alone does not reveal any code.
    """

    email = models.EmailField(_("email"), max_length=254, unique=True)
    sealed = models.TextField(_("sealed code"))
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    class Meta:
        verbose_name = _("sealed registration code")
        verbose_name_plural = _("sealed registration codes")

    def __str__(self) -> str:
        return self.email


class GuestMode(models.Model):
    """The run-time guest switch: one row, flipped by organisers in the admin or on the status page."""

    enabled = models.BooleanField(_("guests may join public rooms"), default=False)
    changed_at = models.DateTimeField(_("last changed"), auto_now=True)
    changed_by = models.CharField(_("changed by"), max_length=254, blank=True)

    class Meta:
        verbose_name = _("guest mode")
        verbose_name_plural = _("guest mode")

    def __str__(self) -> str:
        return str(_("Guest mode is on")) if self.enabled else str(_("Guest mode is off"))


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of #rrggbb."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
