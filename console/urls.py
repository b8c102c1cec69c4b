from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("", views.sources_page, name="sources"),
    path("edit/<str:role>/", views.edit, name="edit"),
    path("check/", views.check_api, name="check"),
    path("preview/", views.preview, name="preview"),
    path("apply/", views.apply, name="apply"),
    path("history/", views.history, name="history"),
    path("history/<int:pk>/", views.version, name="version"),
    path("history/<int:pk>/restore/", views.restore, name="restore"),
    path("announce/", views.announce, name="announce"),
    path("notices/retry/", views.retry_notices, name="retry_notices"),
    path("notices/<int:pk>/end/", views.end_notice, name="end_notice"),
]
