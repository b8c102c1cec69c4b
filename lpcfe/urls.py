from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from chat_embed import live_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("chat/", include("chat_embed.urls")),
    # The Matrix Application Service API: the homeserver pushes each room event once.
    path("_matrix/app/v1/transactions/<str:txn_id>", live_views.appservice_transaction),
    path("_matrix/app/v1/users/<str:user_id>", live_views.appservice_query),
    path("_matrix/app/v1/rooms/<str:alias>", live_views.appservice_query),
    path("", include("sessions.urls")),
]

if settings.BBB_SIMULATOR:
    # The labelled local BBB stand-in; absent whenever a real BBB_URL or servers file is set.
    urlpatterns.insert(0, path("bbb-simulator/bigbluebutton/", include("bbb_simulator.urls")))
