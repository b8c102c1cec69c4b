from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from sessions.models import Room


def chat_room(request: HttpRequest, room_slug: str) -> HttpResponse:
    """The chat panel for one room."""
    room = get_object_or_404(Room, slug=room_slug)
    return render(request, "chat_embed/chat.html", {"room": room, "matrix_configured": bool(settings.MATRIX_URL)})
