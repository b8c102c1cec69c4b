"""The schedule as JSON, in the stable shape documented in docs/api.md."""

import hashlib
import json

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_safe

from sessions import schedule_cache
from sessions.models import Conference, Room, Talk, Track

API_VERSION = 1


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def schedule_document() -> dict:
    conference = Conference.current()
    return {
        "version": API_VERSION,
        "schedule_version": schedule_cache.version(),
        "conference": {
            "name": conference.name if conference else "",
            "timezone": conference.timezone if conference else "UTC",
            "start_date": _iso(conference.start_date) if conference else None,
            "end_date": _iso(conference.end_date) if conference else None,
            "url": _absolute(reverse("now")),
            "ical": _absolute(reverse("feed_schedule")),
        },
        "tracks": [
            {
                "slug": track.slug,
                "name": track.name,
                "colour": track.colour,
                "url": _absolute(reverse("track", args=[track.slug])),
                "ical": _absolute(reverse("feed_track", args=[track.slug])),
            }
            for track in Track.objects.all()
        ],
        "rooms": [{"slug": room.slug, "name": room.name, "kind": room.kind} for room in Room.objects.all()],
        "sessions": [
            {
                "id": talk.external_id,
                "title": talk.title,
                "start": _iso(talk.start),
                "end": _iso(talk.end),
                "room": talk.room.slug,
                "track": talk.track.slug if talk.track else None,
                "speakers": list(talk.speaker_names),
                "abstract": talk.abstract,
                "is_break": talk.is_break,
                "sequence": talk.sequence,
                "url": _absolute(reverse("talk", args=[talk.pk])),
                "source_url": talk.url or None,
            }
            for talk in Talk.objects.select_related("room", "track").order_by("start", "room__position", "pk")
        ],
    }


@require_safe
def schedule_json(request: HttpRequest) -> HttpResponse:
    body = cache.get_or_set(
        schedule_cache.key("api", "schedule"),
        lambda: json.dumps(schedule_document(), cls=DjangoJSONEncoder, ensure_ascii=False).encode(),
        schedule_cache.RENDER_TIMEOUT,
    )
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return not_modified
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=60"
    # Public data, read by bots and other sites' scripts.
    response["Access-Control-Allow-Origin"] = "*"
    return response
