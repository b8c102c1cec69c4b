from django.urls import path

from sessions.views import join, schedule, status

urlpatterns = [
    path("", schedule.now, name="now"),
    # Joining rooms (BBB)
    path("rooms/<slug:slug>/", join.room, name="room"),
    path("rooms/<slug:slug>/join/", join.join, name="join"),
    path("rooms/<slug:slug>/enter/", join.room_enter, name="room_enter"),
    path("rooms/<slug:slug>/left/", join.room_left, name="room_left"),
    path("status/", status.status, name="status"),
]
