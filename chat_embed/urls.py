from django.urls import path

from chat_embed import views

app_name = "chat"
urlpatterns = [
    path("account/password/", views.set_matrix_password, name="password"),
    path("<slug:room_slug>/", views.chat_room, name="room"),
    path("<slug:room_slug>/token/", views.chat_token, name="token"),
]
