from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("chat/", include("chat_embed.urls")),
    path("", include("sessions.urls")),
]
