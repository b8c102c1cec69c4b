"""The schedule's admin pages under the console's rule: what the schedule sources give is read-only
once a row exists (the next import would undo an edit there, and the history would not show it),
and the page links to the console, which checks, previews and records every change.

sessions registers plain admin pages for its models; they are re-registered here with that rule,
so the sessions app never needs to know about the console."""

from django.contrib import admin
from django.db.models import Model
from django.urls import reverse_lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from console.sources import configured_paths
from sessions import admin as schedule_admin
from sessions.importers.sources import is_url
from sessions.models import Conference, Room, Talk, Track

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
        return self.imported if self.file_role in configured_paths() else self.without_file

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        fixed = list(super().get_readonly_fields(request, obj))
        return fixed + [f for f in self.imported_fields() if f not in fixed] if obj else fixed

    def get_prepopulated_fields(self, request, obj=None) -> dict:
        return {} if obj else super().get_prepopulated_fields(request, obj)

    def get_fieldsets(self, request, obj=None) -> list:
        (name, options), *rest = super().get_fieldsets(request, obj)
        return [(name, {**options, "description": IMPORTED}), *rest]


class ConferenceAdmin(ImportedFieldsAdmin, schedule_admin.ConferenceAdmin):
    imported = ("timezone", "start_date", "end_date")

    def imported_fields(self) -> tuple[str, ...]:
        # A local schedule names the conference; an Indico export does not, so its name is set here.
        location = configured_paths().get("schedule", "")
        return ("name", *self.imported) if location and not is_url(location) else self.imported


class TrackAdmin(ImportedFieldsAdmin, schedule_admin.TrackAdmin):
    imported = ("name", "slug", "colour", "matrix_room", "extra")
    file_role = "tracks"


class RoomAdmin(ImportedFieldsAdmin, schedule_admin.RoomAdmin):
    imported = ("name", "slug", "kind", "capacity", "bbb_server", "matrix_room", "moderator_emails", "position")
    file_role = "rooms"


class TalkAdmin(ImportedFieldsAdmin, schedule_admin.TalkAdmin):
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


REPLACED: dict[type[Model], type[admin.ModelAdmin]] = {
    Conference: ConferenceAdmin,
    Track: TrackAdmin,
    Room: RoomAdmin,
    Talk: TalkAdmin,
}
for model, model_admin in REPLACED.items():
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
