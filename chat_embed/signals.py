"""Logout ends the chat session too: the stored Matrix token is revoked on the homeserver."""

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from chat_embed.handoff import revoke_for_logout
from chat_embed.matrix import admin_client, is_configured


def revoke_chat_token_at_logout(
    sender: type, request: HttpRequest | None, user: AbstractBaseUser | None, **kwargs
) -> None:
    if is_configured():
        revoke_for_logout(admin_client(), request, user)
