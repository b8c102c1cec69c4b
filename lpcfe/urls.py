from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("chat/", include("chat_embed.urls")),
    path("console/", include("console.urls")),
    path("", include("sessions.urls")),
]

if settings.BBB_SIMULATOR:
    # The labelled local BBB stand-in; absent whenever a real BBB_URL or servers file is set.
    urlpatterns.insert(0, path("bbb-simulator/bigbluebutton/", include("bbb_simulator.urls")))
