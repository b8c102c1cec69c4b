"""The organisers' status page: rooms, services and the join log, on one screen."""

from dataclasses import dataclass

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from sessions import bbb, health, meetings
from sessions.models import JoinLog, Room
from sessions.people import viewer_for


@dataclass(frozen=True)
class RoomRow:
    room: Room
    server: str
    meeting: bbb.MeetingInfo | None
    problem: str


def _room_rows(servers: list[health.BBBServerStatus]) -> list[RoomRow]:
    by_endpoint = {s.server.api_url: s for s in servers if s.server}
    rows = []
    for room in Room.objects.all():
        try:
            server = bbb.server_for(room)
        except bbb.BBBError as error:
            rows.append(RoomRow(room, room.bbb_server, None, error.message))
            continue
        state = by_endpoint.get(server.api_url)
        if state is None or state.status.state == health.DOWN:
            rows.append(RoomRow(room, server.name, None, state.status.detail if state else ""))
            continue
        wanted = meetings.meeting_id_for(room)
        meeting = next((m for m in state.meetings if m.meeting_id == wanted), None)
        rows.append(RoomRow(room, server.name, meeting, ""))
    return rows


@never_cache
def status(request: HttpRequest) -> HttpResponse:
    """Per room: meeting, people, video; per service: reachable or why not; who joined where."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not viewer_for(request).is_organiser:
        raise PermissionDenied
    servers = health.bbb_statuses()
    services = [health.ldap_status(), *(s.status for s in servers), health.matrix_status()]
    context = {
        "services": services,
        "rows": _room_rows(servers),
        "joins": JoinLog.objects.select_related("room")[:100],
        "nav": "status",
    }
    return render(request, "sessions/status.html", context)
