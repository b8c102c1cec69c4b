from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionsConfig(AppConfig):
    # django.contrib.sessions already owns the label "sessions".
    name = "sessions"
    label = "lpc_sessions"
    verbose_name = _("Schedule and sessions")

    def ready(self) -> None:
        from sessions import checks  # noqa: F401 - registers the BBB start-up checks
