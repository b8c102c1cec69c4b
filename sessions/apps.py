from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionsConfig(AppConfig):
    # django.contrib.sessions already owns the label "sessions".
    name = "sessions"
    label = "lpc_sessions"
    verbose_name = _("Schedule and sessions")

    def ready(self) -> None:
        # Imported for their side effects: start-up checks of the BBB configuration, and cache
        # invalidation plus calendar SEQUENCE bookkeeping on schedule changes.
        from sessions import checks, schedule_cache  # noqa: F401
