"""Admin for people: the local attendee table, the guest-mode switch, and ending login sessions."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sessions import accounts, guests
from sessions.models import Attendee, GuestMode


@admin.register(Attendee)
class AttendeeAdmin(admin.ModelAdmin):
    """The local attendee table (used when LDAP_URI is empty). Codes are set by the import only."""

    list_display = ["email", "first_name", "last_name", "role", "updated_at"]
    list_filter = ["role"]
    search_fields = ["email", "first_name", "last_name"]
    fields = ["email", "first_name", "last_name", "role", "updated_at"]
    readonly_fields = ["email", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a person needs a regcode: add people with manage.py import_attendees


@admin.register(GuestMode)
class GuestModeAdmin(admin.ModelAdmin):
    list_display = ["__str__", "changed_at", "changed_by"]
    fields = ["enabled", "changed_at", "changed_by"]
    readonly_fields = ["changed_at", "changed_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not GuestMode.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: GuestMode | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        GuestMode.objects.get_or_create(pk=1)  # the single row always exists to be switched
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: GuestMode, form, change: bool) -> None:
        guests.set_mode(obj.enabled, changed_by=request.user.get_username())


@admin.action(description=_("End this person's login sessions"), permissions=["change"])
def end_login_sessions(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset) -> None:
    ended = accounts.end_login_sessions(list(queryset))
    modeladmin.message_user(
        request,
        _("Ended %(sessions)d login session(s) of %(people)d person(s). They can log in again with their code.")
        % {"sessions": ended, "people": queryset.count()},
        messages.SUCCESS,
    )


admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(UserAdmin):
    actions = [end_login_sessions]
    list_display = ["username", "first_name", "last_name", "is_staff", "last_login"]

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None):
        # Organisers are staff without being superusers: they may not hand out more power.
        # The address comes from the directory at each login (and Django's own email field would
        # refuse internationalised ones): it is shown, not edited, as in the attendee table.
        readonly = [*super().get_readonly_fields(request, obj), "email"]
        if not request.user.is_superuser:
            readonly += ["is_superuser", "is_staff", "user_permissions", "groups", "password"]
        return readonly
