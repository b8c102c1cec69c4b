"""Helpers for the chat client's browser tests: people, rooms and messages made straight on the
test Synapse through its admin and client APIs, and small probes into the chat page."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import requests

TIMEOUT = 15


class Homeserver:
    """The test Synapse seen as an organiser's script would see it."""

    def __init__(self, url: str, admin_token: str, server_name: str) -> None:
        self.url = url.rstrip("/")
        self.admin_token = admin_token
        self.server_name = server_name
        self.http = requests.Session()

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> dict:
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        for _attempt in range(20):
            response = self.http.request(method, self.url + path, headers=headers, timeout=TIMEOUT, **kwargs)
            if response.status_code == 429:
                time.sleep(response.json().get("retry_after_ms", 200) / 1000)
                continue
            if response.status_code not in (200, 201):
                raise AssertionError(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
            return response.json()
        raise AssertionError(f"{method} {path}: still rate-limited")

    # -- people ---------------------------------------------------------------------------
    def user(self, localpart: str | None = None, displayname: str | None = None) -> str:
        localpart = localpart or "t" + uuid.uuid4().hex[:10]
        user_id = f"@{localpart}:{self.server_name}"
        body: dict[str, Any] = {}
        if displayname is not None:
            body["displayname"] = displayname
        self.call("PUT", f"/_synapse/admin/v2/users/{quote(user_id)}", json=body)
        return user_id

    def put_user(self, user_id: str, displayname: str) -> None:
        self.call("PUT", f"/_synapse/admin/v2/users/{quote(user_id)}", json={"displayname": displayname})

    def token(self, user_id: str) -> str:
        return self.call("POST", f"/_synapse/admin/v1/users/{quote(user_id)}/login", json={})["access_token"]

    def set_displayname(self, user_id: str, name: str) -> None:
        self.call("PUT", f"/_matrix/client/v3/profile/{quote(user_id)}/displayname", json={"displayname": name})

    # -- rooms ----------------------------------------------------------------------------
    def room(self, name: str = "Test room") -> tuple[str, str]:
        """A public room created by the admin; returns (room_id, alias)."""
        local = "r" + uuid.uuid4().hex[:10]
        answer = self.call(
            "POST",
            "/_matrix/client/v3/createRoom",
            json={"preset": "public_chat", "name": name, "room_alias_name": local},
        )
        return answer["room_id"], f"#{local}:{self.server_name}"

    def set_power(self, room_id: str, user_id: str, level: int) -> None:
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/state/m.room.power_levels/"
        levels = self.call("GET", path)
        levels.setdefault("users", {})[user_id] = level
        self.call("PUT", path, json=levels)

    def join(self, user_id: str, room_id: str) -> None:
        self.call("POST", f"/_synapse/admin/v1/join/{quote(room_id)}", json={"user_id": user_id})

    def joined_count(self, room_id: str) -> int:
        return self.call("GET", f"/_synapse/admin/v1/rooms/{quote(room_id)}")["joined_members"]

    def populate(self, room_id: str, count: int, workers: int = 4) -> list[str]:
        """`count` new members of the room, made concurrently (admin API: no rate limit)."""

        def one(n: int) -> str:
            user_id = self.user(displayname=f"Member {n}")
            self.join(user_id, room_id)
            return user_id

        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, range(count)))

    # -- messages -------------------------------------------------------------------------
    def send(self, token: str, room_id: str, body: str, txn: str | None = None, **extra: Any) -> str:
        content = {"msgtype": "m.text", "body": body, **extra}
        txn = txn or uuid.uuid4().hex
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/{txn}"
        return self.call("PUT", path, token, json=content)["event_id"]

    def messages(self, token: str, room_id: str, limit: int = 100) -> list[dict]:
        """The newest `limit` message events, oldest first."""
        answer = self.call(
            "GET",
            f"/_matrix/client/v3/rooms/{quote(room_id)}/messages",
            token,
            params={"dir": "b", "limit": limit, "filter": '{"types":["m.room.message"]}'},
        )
        return list(reversed(answer["chunk"]))


def wait_ready(page, timeout: float = 15_000) -> None:
    """Until the chat's first sync is on screen."""
    page.wait_for_selector('#chat[data-state="live"]', timeout=timeout)


def message_texts(page) -> list[str]:
    return page.eval_on_selector_all("#chat-messages li.msg .body", "els => els.map(e => e.textContent)")


class ChatRoom:
    def __init__(self, room, room_id: str, alias: str) -> None:
        self.room = room  # the front end's Room
        self.room_id = room_id
        self.alias = alias


class Person:
    def __init__(self, user_id: str, token: str, name: str) -> None:
        self.user_id = user_id
        self.token = token  # for sending from the test; the page gets its own through the hand-off
        self.name = name
        self.user = None  # the front end's Django user, when the person logs in there


def post(page, text: str) -> None:
    """Type a message into the chat composer and send it with Enter, as a person does."""
    page.fill("#chat-input", text)
    page.keyboard.press("Enter")


def li_with(page, text: str):
    """The message whose own text (not a quote of it) contains `text`."""
    return page.locator("#chat-messages li.msg").filter(has=page.locator(".body", has_text=text))
