from django.urls import path

from chat_embed import views

app_name = "chat"
urlpatterns = [
    path("<slug:room_slug>/", views.chat_room, name="room"),
]
