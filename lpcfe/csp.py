"""The Content-Security-Policy of every page, decided here and nowhere else.

Every response gets a strict policy: scripts and stylesheets only from this site (no inline script
and no <style> element), nothing loaded from elsewhere,
no framing, forms posted only here or to BBB. A few pages need more, and get exactly that:

- the room page frames BBB: frame-src names the configured BBB servers (BBB_URL, the servers
  file, BBB_FRAME_ORIGINS; the simulator runs at SITE_URL);
- the chat page talks to the homeserver (connect-src) and is framed by the room page and by BBB
  (frame-ancestors), so it has no X-Frame-Options;
- schedule pages place and colour each session with style attributes (grid row, track colour):
  values from the schedule, escaped by the templates, allowed as attributes only.

frame-ancestors follows X-Frame-Options (DENY or SAMEORIGIN, from Django's clickjacking
decorators), so the two headers never disagree.
"""

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from sessions import bbb

logger = logging.getLogger(__name__)

HEADER = "Content-Security-Policy"

# Views (by URL name) whose templates draw schedule data with style attributes.
STYLE_ATTRIBUTE_VIEWS = {"now", "schedule", "schedule_day", "track", "talk", "personal", "profile"}
ROOM_VIEW = "room"
# The simulated BBB client: its chat plugin frames our chat page, as BBB 3's side panel does.
SIMULATOR_CLIENT_VIEW = "bbb_simulator:client"
CHAT_VIEW = "chat:room"


def origin(url: str) -> str:
    """scheme://host[:port] of a URL; "" when it has none."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _unique(sources: list[str]) -> list[str]:
    """Sources in order, each once. SITE_URL's origin (the simulator's) stays named: the site may
    also be reached under another name ('self'), e.g. the demo at localhost and 127.0.0.1."""
    seen: list[str] = []
    for source in sources:
        if source and source not in seen:
            seen.append(source)
    return seen


def bbb_origins() -> list[str]:
    """The origins BBB pages come from: BBB_URL, every host of the servers file, BBB_FRAME_ORIGINS
    (the BBB hosts behind a Scalelite), or the simulator's (SITE_URL)."""
    urls = [settings.BBB_URL]
    try:
        urls += [server.origin for server in bbb.all_servers()]
    except bbb.BBBError as exc:
        logger.warning("Content-Security-Policy: BBB servers unknown (%s); using BBB_URL only", exc)
    return _unique([origin(url) for url in [*urls, *settings.BBB_FRAME_ORIGINS]])


def chat_frame_ancestors(servers: list[str]) -> list[str]:
    """Who may frame the chat page: our own pages, every BBB server, MATRIX_CHAT_FRAME_ANCESTORS
    (not the simulator: its meeting page frames no chat)."""
    own = origin(settings.SITE_URL)
    extra = [*servers, *(origin(url) for url in settings.MATRIX_CHAT_FRAME_ANCESTORS)]
    return ["'self'", *_unique([source for source in extra if source != own])]


def _static_sources() -> list[str]:
    # STATIC_URL may point at another host (a CDN in front of collectstatic's output).
    return ["'self'", *_unique([origin(settings.STATIC_URL)])]


def policy(request: HttpRequest, response: HttpResponse) -> dict[str, list[str]]:
    static = _static_sources()
    servers = bbb_origins()
    directives = {
        "default-src": ["'none'"],
        "script-src": static,
        "style-src": static,
        "img-src": [*static, "data:"],
        "font-src": static,
        "connect-src": ["'self'"],
        # A join form's answer may redirect straight to BBB (BBB_JOIN_MODE=redirect).
        "form-action": ["'self'", *servers],
        "base-uri": ["'none'"],
    }
    match = getattr(request, "resolver_match", None)
    view = match.view_name if match else ""
    if view in STYLE_ATTRIBUTE_VIEWS:
        directives["style-src-attr"] = ["'unsafe-inline'"]
    if view == ROOM_VIEW:
        # The chat frame is ours; the meeting frame redirects once to its BBB server.
        directives["frame-src"] = ["'self'", *servers]
    elif view == SIMULATOR_CLIENT_VIEW:
        directives["frame-src"] = ["'self'"]
    framing = response.get("X-Frame-Options", "").upper()
    if framing == "SAMEORIGIN":
        directives["frame-ancestors"] = ["'self'"]
    elif view == CHAT_VIEW and not framing:
        directives["frame-ancestors"] = chat_frame_ancestors(servers)
    else:
        directives["frame-ancestors"] = ["'none'"]
    if view == CHAT_VIEW and settings.MATRIX_PUBLIC_URL:
        directives["connect-src"] = ["'self'", *_unique([origin(settings.MATRIX_PUBLIC_URL)])]
    return directives


def render_policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every response; place it before XFrameOptionsMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code in (404, 500):
            return response  # Django's technical error pages, with their inline style and script
        response[HEADER] = render_policy(policy(request, response))
        return response
