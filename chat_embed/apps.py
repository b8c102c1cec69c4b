from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatEmbedConfig(AppConfig):
    name = "chat_embed"
    verbose_name = _("Matrix chat")
