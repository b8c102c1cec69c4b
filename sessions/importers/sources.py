"""Reading a schedule source: a local file or an http(s) URL, with a timeout and a size cap."""

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

MAX_BYTES = 64 * 1024 * 1024


class SourceError(Exception):
    """The source could not be read: `display` names it, `reason` says why."""

    def __init__(self, display: str, reason: str) -> None:
        self.display = display
        self.reason = reason
        super().__init__(f"{display}: {reason}")


@dataclass
class Fetched:
    location: str  # as given: a path or a URL (may carry a query with an API key: never shown)
    display: str  # how messages name it
    data: bytes
    base_url: str = ""  # scheme://host/ of a URL source, for relative links in it
    etag: str = ""
    last_modified: str = ""


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def display_name(location: str) -> str:
    """A URL without its query, fragment or credentials (they may hold an API key); paths as given."""
    if not is_url(location):
        return location
    parts = urlsplit(location)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def relative_to(base: str, reference: str) -> str:
    """Where a file named inside `base` (e.g. `rooms: rooms`) lives."""
    if is_url(reference) or Path(reference).is_absolute():
        return reference
    if is_url(base):
        return urljoin(base, reference)
    return str(Path(base).parent / reference)


def read_source(location: str, etag: str = "", last_modified: str = "") -> Fetched | None:
    """The bytes of a file or URL. For URLs, None means "not modified" since `etag`/`last_modified`."""
    display = display_name(location)
    if not is_url(location):
        path = Path(location)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise SourceError(display, _("no such file")) from None
        except IsADirectoryError:
            raise SourceError(display, _("is a folder, not a file")) from None
        except OSError as e:
            raise SourceError(display, _("cannot be read (%(why)s)") % {"why": e.strerror}) from None
        return Fetched(location=location, display=display, data=data)

    headers = {"User-Agent": "lpcfe-schedule-import", "Accept": "application/json, application/xml, text/plain, */*"}
    token = getattr(settings, "SCHEDULE_SOURCE_TOKEN", "")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    timeout = settings.SCHEDULE_FETCH_TIMEOUT
    try:
        with requests.get(location, headers=headers, timeout=timeout, stream=True) as response:
            if response.status_code == 304:
                return None
            if response.status_code != 200:
                raise SourceError(
                    display,
                    _("the server answered HTTP %(status)d %(reason)s")
                    % {"status": response.status_code, "reason": response.reason or ""},
                )
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise SourceError(
                        display, _("larger than %(mb)d MB; is this the right address?") % {"mb": MAX_BYTES // 2**20}
                    )
                chunks.append(chunk)
            parts = urlsplit(response.url or location)
            return Fetched(
                location=location,
                display=display,
                data=b"".join(chunks),
                base_url=urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], "/", "", "")),
                etag=response.headers.get("ETag", ""),
                last_modified=response.headers.get("Last-Modified", ""),
            )
    except requests.Timeout:
        raise SourceError(
            display, _("no answer within %(s)d seconds (SCHEDULE_FETCH_TIMEOUT)") % {"s": timeout}
        ) from None
    except requests.RequestException as e:
        # The exception text can include the full URL with its query; name the kind of failure only.
        raise SourceError(display, _("cannot be fetched (%(why)s)") % {"why": type(e).__name__}) from None
