from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BBBSimulatorConfig(AppConfig):
    """A labelled local stand-in for the BigBlueButton API, installed only when BBB_SIMULATOR is on."""

    name = "bbb_simulator"
    verbose_name = _("BigBlueButton simulator")
    default_auto_field = "django.db.models.BigAutoField"
