"""Our own error pages, also where Django would show its technical 404 (with DEBUG on, as in the demo).

The pages themselves are templates/404.html, 403.html and 500.html, which Django's default
handlers render with DEBUG off.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views import defaults


class FriendlyNotFoundMiddleware:
    """With DEBUG on, a page that is not found shows our 404 page instead of Django's list of URL patterns."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code == 404 and response.get("Content-Type", "").startswith("text/html"):
            return defaults.page_not_found(request, Http404())
        return response
