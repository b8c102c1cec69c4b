from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionsConfig(AppConfig):
    # django.contrib.sessions already owns the label "sessions".
    name = "sessions"
    label = "lpc_sessions"
    verbose_name = _("Schedule and sessions")

    def ready(self) -> None:
        # Cache invalidation and calendar SEQUENCE bookkeeping on schedule changes.
        from sessions import schedule_cache  # noqa: F401
