"""Read-only views of what provisioning made. Chat tokens are never shown."""

from django.contrib import admin

from chat_embed.models import MatrixAccount, MatrixRoom


@admin.register(MatrixRoom)
class MatrixRoomAdmin(admin.ModelAdmin):
    list_display = ("name", "alias_localpart", "room_id", "public", "last_error")
    list_filter = ("public",)
    search_fields = ("name", "alias_localpart", "room_id")
    readonly_fields = ("key", "alias_localpart", "room_id", "applied_hash", "managed_moderators", "last_error")
    exclude = ()

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(MatrixAccount)
class MatrixAccountAdmin(admin.ModelAdmin):
    list_display = ("user_id", "display_name", "kind", "role", "on_server", "token_valid_until", "last_error")
    list_filter = ("kind", "role", "on_server")
    search_fields = ("user_id", "email", "display_name")
    # The token ciphertext stays out of every admin form and list.
    fields = ("user_id", "email", "kind", "display_name", "role", "on_server", "token_valid_until", "last_error")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False
