from django.contrib import admin

from sessions.models import Conference, JoinLog, Room, Talk, Track


@admin.register(Conference)
class ConferenceAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "start_date", "end_date", "imported_at"]


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["name", "colour", "matrix_room"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "capacity", "bbb_server", "position"]
    list_filter = ["kind"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Talk)
class TalkAdmin(admin.ModelAdmin):
    list_display = ["title", "start", "end", "room", "track", "is_break"]
    list_filter = ["room", "track", "is_break"]
    search_fields = ["title", "external_id", "abstract"]
    date_hierarchy = "start"


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
