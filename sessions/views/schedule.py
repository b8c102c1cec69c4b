from datetime import datetime, time, timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from sessions.models import Conference, Talk


def now(request: HttpRequest) -> HttpResponse:
    """Today's sessions, in the conference's zone."""
    conference = Conference.current()
    tz = conference.tz if conference else timezone.get_current_timezone()
    today = timezone.localdate(timezone=tz)
    day_start = datetime.combine(today, time.min, tzinfo=tz)
    talks = Talk.objects.filter(start__lt=day_start + timedelta(days=1), end__gt=day_start).select_related(
        "room", "track"
    )
    return render(request, "sessions/now.html", {"talks": talks, "tz": tz, "today": today})
