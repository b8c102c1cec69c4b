from django.contrib import admin

from sessions.models import Conference, Room, Talk, Track


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


# People: attendees, guest mode, ending login sessions (registered on import).
from sessions import admin_people  # noqa: E402,F401
