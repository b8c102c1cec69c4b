from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from chat_embed import live_views

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (feeds, the API, BBB's frames).
    # Looked up per request: the hashed name exists only after collectstatic.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("img/favicon.svg"), permanent=True)),
    path("chat/", include("chat_embed.urls")),
    path("console/", include("console.urls")),
    # The Matrix Application Service API: the homeserver pushes each room event once.
    path("_matrix/app/v1/transactions/<str:txn_id>", live_views.appservice_transaction),
    path("_matrix/app/v1/users/<str:user_id>", live_views.appservice_query),
    path("_matrix/app/v1/rooms/<str:alias>", live_views.appservice_query),
    path("", include("sessions.urls")),
]

if settings.BBB_SIMULATOR:
    # The labelled local BBB stand-in; absent whenever a real BBB_URL or servers file is set.
    urlpatterns.insert(0, path("bbb-simulator/bigbluebutton/", include("bbb_simulator.urls")))
