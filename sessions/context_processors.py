from django.http import HttpRequest

from sessions.models import Conference


def conference(request: HttpRequest) -> dict:
    return {"conference": Conference.current()}
