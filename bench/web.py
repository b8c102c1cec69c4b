"""A small simulated browser on aiohttp: cookies per person, redirects, CSRF, forms, traffic counts.

One aiohttp session (and connection pool) serves every simulated person; each `Browser` keeps
its own cookies, like one person's browser, and counts what it sent to the front end and to
the homeserver. Bytes are counted as they come over the wire (compressed where the server
compressed), headers included.
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp


class FlowError(Exception):
    """One simulated person's flow failed; str() names the step and what came back."""


@dataclass
class Traffic:
    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0

    def add(self, other: Traffic) -> None:
        self.requests += other.requests
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out


@dataclass
class Reply:
    status: int
    url: str
    headers: Any
    body: bytes
    elapsed: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise FlowError(f"{self.url}: HTTP {self.status}, not JSON: {self.text[:120]!r}") from None


def _decode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def new_session(limit: int) -> aiohttp.ClientSession:
    """The shared HTTP session: cookies are kept per Browser, not here; bodies stay compressed
    so their wire size can be counted."""
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, ttl_dns_cache=None, force_close=False)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        headers={"User-Agent": "lpcfe-bench/1", "Accept-Encoding": "gzip"},
    )


@dataclass
class Browser:
    """One person's browser against the front end at `origin`, and their Matrix client traffic."""

    http: aiohttp.ClientSession
    origin: str
    cookies: dict[str, str] = field(default_factory=dict)
    front: Traffic = field(default_factory=Traffic)
    static: Traffic = field(default_factory=Traffic)
    homeserver: Traffic = field(default_factory=Traffic)
    timings: dict[str, list[float]] = field(default_factory=dict)
    assets_seen: set[str] = field(default_factory=set)

    def _count(self, bucket: Traffic, method: str, url: str, sent: int, response: aiohttp.ClientResponse, body: bytes):
        bucket.requests += 1
        bucket.bytes_out += sent + len(method) + len(url) + 40
        bucket.bytes_in += len(body) + sum(len(k) + len(v) + 4 for k, v in response.raw_headers) + 17

    async def _once(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float,
        bucket: Traffic,
        cookies: bool,
    ) -> Reply:
        try:
            return await self._attempt(
                method, url, headers=headers, body=body, timeout=timeout, bucket=bucket, cookies=cookies
            )
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            # The server closed a kept-alive connection just as it was reused; browsers retry
            # once on a fresh connection, and so do we.
            pass
        return await self._attempt(
            method, url, headers=headers, body=body, timeout=timeout, bucket=bucket, cookies=cookies, last=True
        )

    async def _attempt(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float,
        bucket: Traffic,
        cookies: bool,
        last: bool = False,
    ) -> Reply:
        if cookies and self.cookies:
            headers = {**headers, "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        started = time.monotonic()
        try:
            async with self.http.request(
                method,
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                raw = await response.read()
                self._count(bucket, method, url, len(body or b""), response, raw)
                if cookies:
                    for value in response.headers.getall("Set-Cookie", []):
                        jar = SimpleCookie()
                        jar.load(value)
                        for name, morsel in jar.items():
                            if morsel["max-age"] == "0" or not morsel.value:
                                self.cookies.pop(name, None)
                            else:
                                self.cookies[name] = morsel.value
                decoded = _decode(raw, response.headers.get("Content-Encoding", ""))
                return Reply(response.status, url, response.headers, decoded, time.monotonic() - started)
        except TimeoutError:
            raise FlowError(f"{method} {urlsplit(url).path}: no answer within {timeout:.0f} s") from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            if not last:
                raise
            raise FlowError(f"{method} {urlsplit(url).path}: connection lost") from None
        except aiohttp.ClientError as exc:
            raise FlowError(f"{method} {urlsplit(url).path}: {type(exc).__name__}") from None

    async def page(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        follow: bool = True,
        timeout: float = 30,
        step: str = "",
    ) -> Reply:
        """A request to the front end with this browser's cookies; follows same-origin redirects."""
        url = urljoin(self.origin, path)
        sent_headers = {"Accept": "text/html,application/xhtml+xml", **(headers or {})}
        body = None
        if form is not None:
            body = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in form.items()).encode()
            sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            sent_headers["Content-Type"] = "application/json"
        if method != "GET":
            # What a browser sends with a same-origin POST; Django's CSRF check reads Origin.
            sent_headers.setdefault("Origin", self.origin)
            sent_headers.setdefault("Referer", url)
        started = time.monotonic()
        reply = await self._once(
            method, url, headers=sent_headers, body=body, timeout=timeout, bucket=self.front, cookies=True
        )
        hops = 0
        while follow and reply.status in (301, 302, 303, 307, 308) and hops < 5:
            target = urljoin(url, reply.headers.get("Location", ""))
            if urlsplit(target).netloc != urlsplit(self.origin).netloc:
                break
            hops += 1
            url = target
            reply = await self._once(
                "GET", url, headers={"Accept": "text/html"}, body=None, timeout=timeout, bucket=self.front, cookies=True
            )
        if step:
            self.timings.setdefault(step, []).append(time.monotonic() - started)
        return reply

    async def asset(self, path: str, timeout: float = 30) -> Reply:
        """A static file the page refers to (the browser would cache it after this)."""
        url = urljoin(self.origin, path)
        return await self._once("GET", url, headers={}, body=None, timeout=timeout, bucket=self.static, cookies=False)

    async def matrix(
        self,
        method: str,
        url: str,
        *,
        token: str = "",
        json_body: Any = None,
        timeout: float = 30,
        step: str = "",
    ) -> Reply:
        """A homeserver request, as the embedded client makes it: bearer token, no cookies."""
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        reply = await self._once(
            method, url, headers=headers, body=body, timeout=timeout, bucket=self.homeserver, cookies=False
        )
        if step:
            self.timings.setdefault(step, []).append(reply.elapsed)
        return reply


def _quote(value: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(str(value))


# -- HTML ------------------------------------------------------------------------------------------
@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)  # name -> value (hidden and visible inputs)
    types: dict[str, str] = field(default_factory=dict)  # name -> input type


class PageParser(HTMLParser):
    """Forms, script/stylesheet references and the chat root's data-* attributes of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.assets: list[str] = []
        self.data: dict[str, dict[str, str]] = {}
        self._form: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag in ("input", "textarea", "select", "button") and self._form is not None and a.get("name"):
            kind = a.get("type", "text" if tag != "button" else "submit").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form.fields[a["name"]] = a.get("value", "")
            self._form.types[a["name"]] = kind
        elif tag == "script" and a.get("src"):
            self.assets.append(a["src"])
        elif tag == "link" and a.get("rel", "").lower() == "stylesheet" and a.get("href"):
            self.assets.append(a["href"])
        if a.get("id"):
            data = {k[5:]: v for k, v in a.items() if k.startswith("data-")}
            if data:
                self.data[a["id"]] = data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


async def sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
