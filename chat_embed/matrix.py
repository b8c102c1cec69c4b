"""The Synapse admin and client APIs lpcfe uses, and nothing else talks to the homeserver.

Every call has a timeout (MATRIX_TIMEOUT). A 429 is waited out for the `retry_after_ms`
Synapse asks for, up to a total wait budget per call; every other failure becomes one
`MatrixError` with a message a person can act on. Access tokens never appear in messages
or logs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

ADMIN = "/_synapse/admin"
CLIENT = "/_matrix/client/v3"


class MatrixError(Exception):
    """A homeserver call failed; `str()` is a sentence for an organiser or a log."""

    def __init__(self, message: str, *, status: int | None = None, errcode: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errcode = errcode


def _q(identifier: str) -> str:
    """Percent-encode a user ID, room ID or alias as one path segment."""
    return quote(identifier, safe="")


def is_configured() -> bool:
    return bool(settings.MATRIX_URL and settings.MATRIX_SERVER_NAME and settings.MATRIX_ADMIN_TOKEN)


class MatrixClient:
    """Calls to one homeserver with one token (the admin's, unless a call says otherwise).

    retry_budget: the most seconds one call may spend waiting out 429 answers; a call that
    would need longer fails with MatrixError (status 429).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10,
        retry_budget: float = 30,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retry_budget = retry_budget
        self._sleep = sleep
        self._local = threading.local()  # one HTTP connection pool per thread
        self.waited_seconds = 0.0  # total time spent waiting out 429s (reported by provisioning)
        self.rate_limited = 0  # how many 429 answers were waited out
        self._counter_lock = threading.Lock()

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = "lpcfe"
            self._local.session = session
        return session

    # -- transport ------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        token: str | None = None,
        allow: tuple[int, ...] = (),
    ) -> tuple[int, dict[str, Any]]:
        """One call; returns (status, JSON body). Statuses in `allow` are returned, not raised."""
        url = self.base_url + path
        headers = {"Authorization": f"Bearer {token or self.token}"}
        waited = 0.0
        while True:
            try:
                response = self._session.request(
                    method, url, json=json, params=params, headers=headers, timeout=self.timeout
                )
            except requests.Timeout:
                raise MatrixError(
                    f"The Matrix homeserver did not answer {method} {path} within {self.timeout:g} s."
                ) from None
            except requests.RequestException as exc:
                raise MatrixError(
                    f"Cannot reach the Matrix homeserver at {self.base_url} ({type(exc).__name__})."
                ) from None
            body = _json_body(response)
            if response.status_code == 429:
                delay = _retry_after(response, body)
                if waited + delay > self.retry_budget:
                    raise MatrixError(
                        f"The Matrix homeserver kept rate-limiting {method} {path} "
                        f"(waited {waited:.1f} s, it asks for {delay:.1f} s more).",
                        status=429,
                        errcode=body.get("errcode"),
                    )
                logger.info("Rate-limited on %s %s; waiting %.2f s as the homeserver asks", method, path, delay)
                with self._counter_lock:
                    self.rate_limited += 1
                    self.waited_seconds += delay
                self._sleep(delay)
                waited += delay
                continue
            if response.status_code < 300 or response.status_code in allow:
                return response.status_code, body
            raise MatrixError(
                f"The Matrix homeserver answered {response.status_code} {body.get('errcode', '')} to "
                f"{method} {path}: {body.get('error') or response.reason}".replace("  ", " "),
                status=response.status_code,
                errcode=body.get("errcode"),
            )

    # -- accounts -------------------------------------------------------------------------
    def whoami(self, token: str | None = None) -> str:
        return self.request("GET", f"{CLIENT}/account/whoami", token=token)[1]["user_id"]

    def get_user(self, user_id: str) -> dict[str, Any] | None:
        status, body = self.request("GET", f"{ADMIN}/v2/users/{_q(user_id)}", allow=(404,))
        return body if status == 200 else None

    def put_user(
        self,
        user_id: str,
        *,
        displayname: str | None = None,
        password: str | None = None,
    ) -> bool:
        """Create or update an account (PUT v2/users); True when it was created.

        Without a password the account has none: no bcrypt work now, and nobody can use
        /login with it until the person sets one from their profile page.
        """
        body: dict[str, Any] = {"admin": False, "deactivated": False}
        if displayname is not None:
            body["displayname"] = displayname
        if password is not None:
            body["password"] = password
            body["logout_devices"] = False
        status, _ = self.request("PUT", f"{ADMIN}/v2/users/{_q(user_id)}", json=body)
        return status == 201

    def login_as(self, user_id: str, valid_until_ms: int) -> str:
        """A fresh access token for `user_id` (admin "login as user"): no password, no
        device, no /login rate limit."""
        _, body = self.request(
            "POST", f"{ADMIN}/v1/users/{_q(user_id)}/login", json={"valid_until_ms": int(valid_until_ms)}
        )
        return body["access_token"]

    def logout(self, token: str) -> None:
        """Revoke one access token; a token that is already gone is fine."""
        self.request("POST", f"{CLIENT}/logout", json={}, token=token, allow=(401,))

    def get_ratelimit(self, user_id: str) -> dict[str, int]:
        return self.request("GET", f"{ADMIN}/v1/users/{_q(user_id)}/override_ratelimit")[1]

    def set_ratelimit(self, user_id: str, messages_per_second: int = 0, burst_count: int = 0) -> None:
        """0/0 lifts every rate limit for that user (Synapse's override_ratelimit API)."""
        self.request(
            "POST",
            f"{ADMIN}/v1/users/{_q(user_id)}/override_ratelimit",
            json={"messages_per_second": messages_per_second, "burst_count": burst_count},
        )

    # -- rooms ----------------------------------------------------------------------------
    def capabilities(self) -> dict[str, Any]:
        return self.request("GET", f"{CLIENT}/capabilities")[1].get("capabilities", {})

    def default_room_version(self) -> str:
        return str(self.capabilities().get("m.room_versions", {}).get("default", "1"))

    def resolve_alias(self, alias: str) -> str | None:
        status, body = self.request("GET", f"{CLIENT}/directory/room/{_q(alias)}", allow=(404,))
        return body.get("room_id") if status == 200 else None

    def register_appservice_user(self, localpart: str, as_token: str) -> None:
        """Make an application service's own user (idempotent: an existing one is fine)."""
        status, body = self.request(
            "POST",
            f"{CLIENT}/register",
            json={"type": "m.login.application_service", "username": localpart, "inhibit_login": True},
            token=as_token,
            allow=(400,),
        )
        if status == 400 and body.get("errcode") != "M_USER_IN_USE":
            raise MatrixError(f"The homeserver refused the application service user {localpart}: {body.get('error')}")

    def create_room(self, body: dict[str, Any]) -> str:
        return self.request("POST", f"{CLIENT}/createRoom", json=body)[1]["room_id"]

    def get_state(self, room_id: str, event_type: str, state_key: str = "") -> dict[str, Any] | None:
        status, body = self.request(
            "GET", f"{CLIENT}/rooms/{_q(room_id)}/state/{_q(event_type)}/{_q(state_key)}", allow=(404,)
        )
        return body if status == 200 else None

    def put_state(self, room_id: str, event_type: str, content: dict[str, Any], state_key: str = "") -> str:
        path = f"{CLIENT}/rooms/{_q(room_id)}/state/{_q(event_type)}/{_q(state_key)}"
        return self.request("PUT", path, json=content)[1].get("event_id", "")

    def set_directory_visibility(self, room_id: str, public: bool) -> None:
        self.request(
            "PUT",
            f"{CLIENT}/directory/list/room/{_q(room_id)}",
            json={"visibility": "public" if public else "private"},
        )

    def membership(self, room_id: str, user_id: str) -> str | None:
        state = self.get_state(room_id, "m.room.member", user_id)
        return state.get("membership") if state else None

    def send_notice(self, room_id: str, body: str, token: str, txn_id: str) -> str:
        """Post `body` as an m.notice (what bots send: clients show it apart, other bots ignore it)."""
        path = f"{CLIENT}/rooms/{_q(room_id)}/send/m.room.message/{_q(txn_id)}"
        return self.request("PUT", path, json={"msgtype": "m.notice", "body": body}, token=token)[1]["event_id"]

    def admin_join(self, room_id_or_alias: str, user_id: str) -> str:
        """Join a local user to a room (admin API; invites first in invite-only rooms).
        Joining someone who is already in is not an error."""
        status, body = self.request(
            "POST", f"{ADMIN}/v1/join/{_q(room_id_or_alias)}", json={"user_id": user_id}, allow=(403,)
        )
        if status == 200:
            return body["room_id"]
        room_id = room_id_or_alias
        if room_id.startswith("#"):
            room_id = self.resolve_alias(room_id) or room_id
        if room_id.startswith("!") and self.membership(room_id, user_id) == "join":
            return room_id
        raise MatrixError(
            f"The Matrix homeserver refused to join {user_id} to {room_id_or_alias}: "
            f"{body.get('error') or 'forbidden'}",
            status=status,
            errcode=body.get("errcode"),
        )


def _json_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: requests.Response, body: dict[str, Any]) -> float:
    """Seconds to wait: the JSON retry_after_ms, else the Retry-After header, else 1 s."""
    value = body.get("retry_after_ms")
    if isinstance(value, int | float) and value >= 0:
        return max(float(value) / 1000, 0.05)
    header = response.headers.get("Retry-After", "")
    if header.isdigit():
        return float(header)
    return 1.0


def admin_client(*, retry_budget: float | None = None) -> MatrixClient:
    """A client with the configured admin token; MatrixError when Matrix is not configured."""
    if not is_configured():
        raise MatrixError("Matrix is not configured: set MATRIX_URL, MATRIX_SERVER_NAME and MATRIX_ADMIN_TOKEN.")
    return MatrixClient(
        settings.MATRIX_URL,
        settings.MATRIX_ADMIN_TOKEN,
        timeout=settings.MATRIX_TIMEOUT,
        retry_budget=settings.MATRIX_INTERACTIVE_RETRY_SECONDS if retry_budget is None else retry_budget,
    )
