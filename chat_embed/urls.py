from django.urls import path

from chat_embed import live_views, views

app_name = "chat"
urlpatterns = [
    path("account/password/", views.set_matrix_password, name="password"),
    path("live/authorize/", live_views.authorize, name="live_authorize"),
    path("live/ticket/", live_views.ticket, name="live_ticket"),
    path("<slug:room_slug>/", views.chat_room, name="room"),
    path("<slug:room_slug>/token/", views.chat_token, name="token"),
    path("<slug:room_slug>/history/", live_views.history, name="history"),
]
