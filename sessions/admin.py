from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from sessions.models import Conference, JoinLog, Room, Talk, Track

IMPORTED = _(
    "Filled in by manage.py import_schedule. Fields the source gives are replaced at the next import; "
    "change them in the source instead (see docs/schedule-formats.md)."
)


@admin.register(Conference)
class ConferenceAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "start_date", "end_date", "source", "imported_at"]
    readonly_fields = ["source", "imported_at"]
    fieldsets = [(None, {"fields": ["name", "timezone", "start_date", "end_date", "source", "imported_at"]})]


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "colour", "matrix_room", "extra"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    fieldsets = [(None, {"description": IMPORTED, "fields": ["name", "slug", "colour", "matrix_room", "extra"]})]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "capacity", "bbb_server", "matrix_room", "position"]
    list_filter = ["kind"]
    list_editable = ["position"]
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
class TalkAdmin(admin.ModelAdmin):
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

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # The ID ties a session to its source: settable when adding one by hand, fixed after.
        return ["external_id", "sequence"] if obj else ["sequence"]


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
