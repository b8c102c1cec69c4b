from django.urls import path

from bbb_simulator import views

app_name = "bbb_simulator"
urlpatterns = [
    path("", views.home, name="home"),
    path("api", views.api_index),
    path("api/", views.api_index, name="api_index"),
    path("api/<str:call>", views.api, name="api"),
    path("client/", views.client, name="client"),
    path("client/leave/", views.leave, name="leave"),
    path("playback/presentation/2.3/<str:record_id>", views.playback, name="playback"),
]
