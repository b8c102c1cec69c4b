"""The one thing the sessions app needs from the chat: a room's chat address for BBB's plugin.

The chat app (chat_embed) depends on sessions, never the other way round, so sessions cannot
import it. Instead chat_embed registers a provider here in its AppConfig.ready; without one
(no chat app installed) there is no chat address to pass on.
"""

from collections.abc import Callable

from django.http import HttpRequest

from sessions.models import Room
from sessions.people import Viewer

ChatUrlProvider = Callable[[Room, Viewer, HttpRequest | None], str]

_provider: ChatUrlProvider | None = None


def provide(provider: ChatUrlProvider) -> None:
    global _provider  # noqa: PLW0603  (set once at start-up, by the chat app's ready())
    _provider = provider


def chat_url(room: Room, viewer: Viewer, request: HttpRequest | None = None) -> str | None:
    """The absolute chat address for `viewer` in `room` (with a ticket if they need one), or None."""
    return _provider(room, viewer, request) if _provider is not None else None
