from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatEmbedConfig(AppConfig):
    name = "chat_embed"
    verbose_name = _("Matrix chat")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from chat_embed.handoff import bbb_chat_url
        from chat_embed.signals import revoke_chat_token_at_logout
        from sessions import chat_link

        user_logged_out.connect(revoke_chat_token_at_logout, dispatch_uid="chat_embed_revoke_at_logout")
        # sessions asks for the chat address through this; it never imports the chat app.
        chat_link.provide(bbb_chat_url)
