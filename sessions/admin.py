from django.contrib import admin

from sessions.models import Conference, JoinLog, Room, Talk, Track

# The fields a schedule source gives are made read-only by the organisers' console (console/admin.py),
# which re-registers these with that policy: schedule edits go through its checks and history.


@admin.register(Conference)
class ConferenceAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "start_date", "end_date", "source", "imported_at"]
    readonly_fields = ["source", "imported_at"]
    fields = ["name", "timezone", "start_date", "end_date", "source", "imported_at"]


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "colour", "matrix_room", "extra"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    fields = ["name", "slug", "colour", "matrix_room", "extra"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "capacity", "bbb_server", "matrix_room", "position"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "kind", "capacity", "bbb_server", "matrix_room", "moderator_emails", "position"]


@admin.register(Talk)
class TalkAdmin(admin.ModelAdmin):
    list_display = ["title", "start", "end", "room", "track", "is_break", "sequence"]
    list_filter = ["is_break", "room", "track"]
    list_select_related = ["room", "track"]
    search_fields = ["title", "external_id", "abstract"]
    date_hierarchy = "start"
    readonly_fields = ["sequence"]
    fields = [
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
