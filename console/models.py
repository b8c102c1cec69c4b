"""What the organisers' console keeps: every applied version of the schedule sources, and the
notices that changes and announcements put in the rooms' chats and on the pages."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from chat_embed.models import MatrixRoom
from sessions.models import Room


class SourceVersion(models.Model):
    """One applied schedule: the text of each local source file, who applied it, what changed.

    `texts` and `paths` are keyed by role ("schedule", "tracks", "rooms"); a followed URL has
    a path but no text (the server holds it).
    """

    class Via(models.TextChoices):
        CONSOLE = "console", _("console")
        ROLLBACK = "rollback", _("console (earlier version re-applied)")
        COMMAND = "command", _("manage.py import_schedule")

    created = models.DateTimeField(_("applied at"), auto_now_add=True, db_index=True)
    author = models.CharField(_("applied by"), max_length=254)
    via = models.CharField(_("how"), max_length=10, choices=Via.choices)
    location = models.CharField(_("schedule source"), max_length=500)
    paths = models.JSONField(_("files"), default=dict)
    texts = models.JSONField(_("texts"), default=dict)
    summary = models.CharField(_("summary"), max_length=500)
    lines = models.JSONField(_("changes"), default=list)
    # Applied with `import_schedule --shift-to-today` (demos): the console shifts the same way.
    shifted_to_today = models.BooleanField(_("moved to start today"), default=False)
    # Sessions at once in one room were imported as warnings: re-applying this version does the same.
    allow_overlaps = models.BooleanField(_("overlapping sessions allowed"), default=False)
    restored_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("re-applied from")
    )

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("applied schedule version")
        verbose_name_plural = _("applied schedule versions")

    def __str__(self) -> str:
        return f"#{self.pk} {self.created:%Y-%m-%d %H:%M} {self.author}"


class SourceFetch(models.Model):
    """One run of `import_schedule` (periodic or not): what it read, and what came of it."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    location = models.CharField(_("schedule source"), max_length=500)
    ok = models.BooleanField(_("succeeded"))
    detail = models.CharField(_("what changed, or why it failed"), max_length=1000)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("schedule fetch")
        verbose_name_plural = _("schedule fetches")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.location}: {self.detail}"


class Notice(models.Model):
    """A conference notice: shown on the now page (and on the pages of the sessions it is about)
    until `expires`, and posted in the chats of `posts`."""

    class Kind(models.TextChoices):
        CHANGE = "change", _("schedule change")
        ANNOUNCEMENT = "announcement", _("announcement")

    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices)
    text = models.TextField(_("text"))
    created = models.DateTimeField(_("created"), auto_now_add=True)
    expires = models.DateTimeField(_("shown until"), db_index=True)
    author = models.CharField(_("by"), max_length=254)
    # Empty: every room. Change notices name the rooms of the sessions they are about.
    rooms = models.ManyToManyField(Room, blank=True, related_name="+", verbose_name=_("rooms"))
    talk_external_ids = models.JSONField(default=list, blank=True)
    version = models.ForeignKey(SourceVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="notices")

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")

    def __str__(self) -> str:
        return self.text[:80]


class NoticePost(models.Model):
    """One notice in one Matrix room: posted, or why not yet (retried by `manage.py post_notices`)."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="posts")
    matrix_room = models.ForeignKey(MatrixRoom, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(_("last error"), blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notice", "matrix_room"], name="one_post_per_chat")]

    def __str__(self) -> str:
        return f"{self.notice} in {self.matrix_room}"
