from django.urls import path

from sessions.views import auth, schedule

urlpatterns = [
    path("", schedule.now, name="now"),
    # Login, guests and the guest-mode switch
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("guest/", auth.guest_login, name="guest_login"),
    path("login/code-again/", auth.resend_code, name="resend_code"),
    path("profile/", auth.profile, name="profile"),
    path("guest-mode/", auth.guest_mode, name="guest_mode"),
]
