from django.urls import path

from sessions.views import api, auth, feeds, join, recordings, schedule, status

urlpatterns = [
    path("", schedule.now, name="now"),
    path("now.json", schedule.now_state, name="now_state"),
    path("schedule/", schedule.schedule, name="schedule"),
    path("schedule/<str:day>/", schedule.schedule_day, name="schedule_day"),
    path("tracks/<str:slug>/", schedule.track, name="track"),
    path("sessions/<int:pk>/", schedule.talk, name="talk"),
    path("sessions/<int:pk>/star/", schedule.star, name="star"),
    path("sessions/<int:pk>/recordings/", recordings.publish, name="publish_recordings"),
    path("my-schedule/", schedule.personal, name="personal"),
    path("time-zone/", schedule.set_timezone, name="set_timezone"),
    path("schedule.ics", feeds.feed_schedule, name="feed_schedule"),
    path("tracks/<str:slug>.ics", feeds.feed_track, name="feed_track"),
    path("sessions/<int:pk>.ics", feeds.feed_talk, name="feed_talk"),
    path("calendar/<str:key>/<str:signature>.ics", feeds.feed_personal, name="feed_personal"),
    path("my-schedule/reset-calendar/", feeds.reset_feed, name="reset_feed"),
    path("api/schedule.json", api.schedule_json, name="api_schedule"),
    # Joining rooms (BBB)
    path("rooms/<slug:slug>/", join.room, name="room"),
    path("rooms/<slug:slug>/join/", join.join, name="join"),
    path("rooms/<slug:slug>/state.json", join.room_state, name="room_state"),
    path("rooms/<slug:slug>/enter/", join.room_enter, name="room_enter"),
    path("rooms/<slug:slug>/left/", join.room_left, name="room_left"),
    path("status/", status.status, name="status"),
    # Login, guests and the guest-mode switch
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("guest/", auth.guest_login, name="guest_login"),
    path("login/code-again/", auth.resend_code, name="resend_code"),
    path("profile/", auth.profile, name="profile"),
    path("guest-mode/", auth.guest_mode, name="guest_mode"),
]
