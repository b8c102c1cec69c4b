from django.contrib import admin
from django.urls import reverse_lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from sessions.models import Conference, JoinLog, Room, Talk, Track

IMPORTED = format_lazy(
    '{} <a href="{}">{}</a>',
    _(
        "Filled in by manage.py import_schedule and the organisers' console from the schedule sources, so "
        "they cannot be changed here (the next import would undo it, and the history would not show it)."
    ),
    reverse_lazy("console:sources"),
    _("Change them in the organisers' console, which checks, previews and records every change."),
)


class ImportedFieldsAdmin(admin.ModelAdmin):
    """Fields the schedule sources give are read-only once a row exists: edits go through the console."""

    imported: tuple[str, ...] = ()
    # Fields a source gives only when this file is among the sources (a rooms or tracks file).
    file_role: str = ""
    without_file: tuple[str, ...] = ("name", "slug")

    def imported_fields(self) -> tuple[str, ...]:
        if not self.file_role:
            return self.imported
        from console.sources import configured_paths

        return self.imported if self.file_role in configured_paths() else self.without_file

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        fixed = list(super().get_readonly_fields(request, obj))
        return fixed + [f for f in self.imported_fields() if f not in fixed] if obj else fixed

    def get_prepopulated_fields(self, request, obj=None) -> dict:
        return {} if obj else super().get_prepopulated_fields(request, obj)


@admin.register(Conference)
class ConferenceAdmin(ImportedFieldsAdmin):
    list_display = ["name", "timezone", "start_date", "end_date", "source", "imported_at"]
    readonly_fields = ["source", "imported_at"]
    imported = ("timezone", "start_date", "end_date")

    def imported_fields(self) -> tuple[str, ...]:
        # A local schedule names the conference; an Indico export does not, so its name is set here.
        from console.sources import configured_paths
        from sessions.importers.sources import is_url

        location = configured_paths().get("schedule", "")
        return ("name", *self.imported) if location and not is_url(location) else self.imported

    fieldsets = [
        (
            None,
            {
                "description": IMPORTED,
                "fields": ["name", "timezone", "start_date", "end_date", "source", "imported_at"],
            },
        )
    ]


@admin.register(Track)
class TrackAdmin(ImportedFieldsAdmin):
    imported = ("name", "slug", "colour", "matrix_room", "extra")
    file_role = "tracks"
    list_display = ["name", "slug", "colour", "matrix_room", "extra"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    fieldsets = [(None, {"description": IMPORTED, "fields": ["name", "slug", "colour", "matrix_room", "extra"]})]


@admin.register(Room)
class RoomAdmin(ImportedFieldsAdmin):
    imported = ("name", "slug", "kind", "capacity", "bbb_server", "matrix_room", "moderator_emails", "position")
    file_role = "rooms"
    list_display = ["name", "slug", "kind", "capacity", "bbb_server", "matrix_room", "position"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (
            None,
            {
                "description": IMPORTED,
                "fields": [
                    "name",
                    "slug",
                    "kind",
                    "capacity",
                    "bbb_server",
                    "matrix_room",
                    "moderator_emails",
                    "position",
                ],
            },
        )
    ]


@admin.register(Talk)
class TalkAdmin(ImportedFieldsAdmin):
    imported = (
        "title",
        "start",
        "end",
        "room",
        "track",
        "is_break",
        "speaker_names",
        "speaker_emails",
        "abstract",
        "url",
        "external_id",
    )
    list_display = ["title", "start", "end", "room", "track", "is_break", "sequence"]
    list_filter = ["is_break", "room", "track"]
    list_select_related = ["room", "track"]
    search_fields = ["title", "external_id", "abstract"]
    date_hierarchy = "start"
    readonly_fields = ["sequence"]
    fieldsets = [
        (
            None,
            {
                "description": IMPORTED,
                "fields": [
                    "title",
                    ("start", "end"),
                    "room",
                    "track",
                    "is_break",
                    "speaker_names",
                    "speaker_emails",
                    "abstract",
                    "url",
                    ("external_id", "sequence"),
                ],
            },
        )
    ]


@admin.register(JoinLog)
class JoinLogAdmin(admin.ModelAdmin):
    list_display = ["at", "room_slug", "display_name", "viewer_role", "bbb_role", "outcome", "reason"]
    list_filter = ["outcome", "bbb_role", "room_slug"]
    search_fields = ["display_name", "room_slug"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# People: attendees, guest mode, ending login sessions (registered on import).
from sessions import admin_people  # noqa: E402,F401
