import contextlib

from django import template
from django.conf import settings

from chat_embed.ids import MatrixIdError, email_to_user_id
from chat_embed.matrix import is_configured
from chat_embed.views import MIN_PASSWORD_LENGTH

register = template.Library()


@register.simple_tag(takes_context=True)
def matrix_account(context: template.Context) -> dict:
    """The signed-in person's Matrix ID and where their other clients should connect."""
    request = context.get("request")
    user = getattr(request, "user", None)
    info = {
        "configured": is_configured(),
        "user_id": "",
        "homeserver_url": settings.MATRIX_PUBLIC_URL,
        "server_name": settings.MATRIX_SERVER_NAME,
        "min_password_length": MIN_PASSWORD_LENGTH,
    }
    if info["configured"] and user is not None and user.is_authenticated:
        with contextlib.suppress(MatrixIdError):
            info["user_id"] = email_to_user_id(user.email or user.get_username(), settings.MATRIX_SERVER_NAME)
    return info
