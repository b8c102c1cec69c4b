"""A private Synapse homeserver on loopback, for the demo, the test suite and benchmarks.

It writes a configuration under one folder (loopback listener on a free port, no federation,
no open registration, no auto-joined rooms), starts `python -m synapse.app.homeserver`, waits
for `/health`, and creates an admin user with the shared-secret registration API. The folder
keeps the database, signing key and secrets, so a restart (or the next demo run) finds its
accounts and rooms again.

Production runs its own Synapse; nothing here is meant for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from lpcfe.deployment import PERSISTER, Topology

logger = logging.getLogger(__name__)

STATE_FILE = "lpcfe-local.json"
CONFIG_FILE = "homeserver.yaml"
LOG_CONFIG_FILE = "log.yaml"
LOG_FILE = "homeserver.log"
CONSOLE_FILE = "console.log"
PID_FILE = "lpcfe-synapse.pid"
ADMIN_LOCALPART = "lpcfe-admin"
HTTP_TIMEOUT = 10

# Every client-visible rate limiter Synapse has; tests raise them all (as Synapse's own tests
# do) so only a test that lowers one on purpose ever sees a 429.
_RATE_LIMITS = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_login.address",
    "rc_login.account",
    "rc_login.failed_attempts",
    "rc_admin_redaction",
    "rc_joins.local",
    "rc_joins.remote",
    "rc_joins_per_room",
    "rc_3pid_validation",
    "rc_invites.per_room",
    "rc_invites.per_user",
    "rc_invites.per_issuer",
    "rc_third_party_invite",
    "rc_media_create",
    "rc_presence.per_user",
    "rc_delayed_event_mgmt",
    "rc_room_creation",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
)


class LocalSynapseError(RuntimeError):
    """The local homeserver could not be configured, started or reached."""


# Names in the chat are the directory's: nobody renames themselves, globally or in one room (the
# admin API, which provisioning uses, still can), and profiles are shown to people who share a
# room only. docs/matrix.md asks organisers to set the same on their homeserver.
IDENTITY_CONFIG: dict[str, Any] = {
    "enable_set_displayname": False,
    "enable_set_avatar_url": False,
    "allow_per_room_profiles": False,
    "require_auth_for_profile_requests": True,
    "limit_profile_requests_to_users_who_share_rooms": True,
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As Twisted's listener does, so a port still in TIME_WAIT after a stop counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def raised_rate_limits(per_second: float = 10000, burst_count: int = 10000) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key in _RATE_LIMITS:
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = {"per_second": per_second, "burst_count": burst_count}
    return config


def shared_secret_mac(secret: str, nonce: str, username: str, password: str, admin: bool) -> str:
    """The HMAC-SHA1 that /_synapse/admin/v1/register expects (see Synapse's register_api.md)."""
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    for i, part in enumerate((nonce, username, password, "admin" if admin else "notadmin")):
        if i:
            mac.update(b"\x00")
        mac.update(part.encode("utf8"))
    return mac.hexdigest()


class LocalSynapse:
    """One homeserver living in `folder`.

    >>> hs = LocalSynapse(Path("var/synapse")).start()
    >>> hs.url, hs.server_name, hs.admin_token
    >>> hs.stop()

    Parameters:
      server_name: the domain part of every user ID.
      port: 0 picks a free loopback port (remembered in the folder and reused when still free).
      raise_rate_limits: lift every `rc_*` limit (tests, benchmarks); otherwise Synapse's defaults.
      bcrypt_rounds: 4 makes password hashing cheap in tests; Synapse's default is 12.
      database_args: psycopg2 connection args ({user, password, database, host, port}) to run on
        PostgreSQL; None keeps SQLite in the folder.
      appservice: an application service registration (chat_embed.live.registration()), written
        beside homeserver.yaml and loaded by it: the homeserver then pushes room events there.
      extra_config: merged last into homeserver.yaml (top-level keys replace ours).
    """

    def __init__(
        self,
        folder: Path | str,
        *,
        server_name: str = "localhost",
        port: int = 0,
        raise_rate_limits: bool = False,
        bcrypt_rounds: int = 12,
        database_args: dict[str, Any] | None = None,
        appservice: dict[str, Any] | None = None,
        extra_config: dict[str, Any] | None = None,
        python: str = sys.executable,
        topology: Topology | None = None,
    ) -> None:
        self.topology = topology
        if topology is not None:
            # The workers topology: lpcfe.deployment wrote the configuration into this folder
            # (as it does for production); this starts the main process and every worker from it.
            folder = topology.synapse_config_dir
            server_name = topology.server_name
            port = topology.synapse_main_port
        self.folder = Path(folder).resolve()
        self.server_name = server_name
        self.requested_port = port
        self.raise_rate_limits = raise_rate_limits
        self.bcrypt_rounds = bcrypt_rounds
        self.database_args = database_args
        self.appservice = appservice
        self.extra_config = extra_config or {}
        self.python = python
        self._process: subprocess.Popen | None = None
        self._workers: dict[str, subprocess.Popen] = {}
        self._state: dict[str, Any] = {}

    # -- paths and facts ------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.folder / CONFIG_FILE

    @property
    def log_path(self) -> Path:
        """Synapse's own log (the main process's), including one access line per HTTP request."""
        if self.topology is not None:
            return self.topology.log_dir / "main.log"
        return self.folder / LOG_FILE

    @property
    def port(self) -> int:
        return int(self._load_state()["port"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def registration_shared_secret(self) -> str:
        return self._load_state()["registration_shared_secret"]

    @property
    def admin_user_id(self) -> str:
        return f"@{ADMIN_LOCALPART}:{self.server_name}"

    @property
    def admin_token(self) -> str:
        token = self._load_state().get("admin_token", "")
        if not token:
            raise LocalSynapseError("The local Synapse has no admin user yet: call start() first.")
        return token

    def env(self) -> dict[str, str]:
        """The MATRIX_* settings that point lpcfe at this homeserver."""
        return {
            "MATRIX_URL": self.url,
            "MATRIX_PUBLIC_URL": self.url,
            "MATRIX_SERVER_NAME": self.server_name,
            "MATRIX_ADMIN_TOKEN": self.admin_token,
        }

    # -- state kept in the folder ---------------------------------------------------------
    def _state_path(self) -> Path:
        return self.folder / STATE_FILE

    def _load_state(self) -> dict[str, Any]:
        if not self._state and self._state_path().exists():
            self._state = json.loads(self._state_path().read_text())
        return self._state

    def _save_state(self) -> None:
        path = self._state_path()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._state, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)

    # -- configuration --------------------------------------------------------------------
    def configure(self) -> Path:
        """(Re)write homeserver.yaml; secrets, signing key and data survive from earlier runs."""
        if self.topology is not None:
            return self._configure_topology()
        self.folder.mkdir(parents=True, exist_ok=True)
        state = self._load_state()
        if state.get("server_name") and state["server_name"] != self.server_name:
            raise LocalSynapseError(
                f"{self.folder} holds a homeserver for {state['server_name']!r}, not {self.server_name!r}: "
                "a server name cannot change once users exist. Use another folder."
            )
        state["server_name"] = self.server_name
        for key in ("registration_shared_secret", "macaroon_secret_key", "form_secret"):
            state.setdefault(key, secrets.token_urlsafe(32))
        if self.requested_port:
            state["port"] = self.requested_port
        elif not state.get("port") or (not self._running_pid() and not _port_is_free(int(state["port"]))):
            state["port"] = free_port()
        self._save_state()
        self._write_signing_key()
        self._write_log_config()

        config: dict[str, Any] = {
            "server_name": self.server_name,
            "public_baseurl": f"http://127.0.0.1:{state['port']}/",
            "pid_file": str(self.folder / "homeserver.pid"),
            "listeners": [
                {
                    "port": int(state["port"]),
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": self._database_config(),
            "log_config": str(self.folder / LOG_CONFIG_FILE),
            "media_store_path": str(self.folder / "media_store"),
            "signing_key_path": str(self.folder / "signing.key"),
            "report_stats": False,
            "enable_metrics": False,
            "registration_shared_secret": state["registration_shared_secret"],
            "macaroon_secret_key": state["macaroon_secret_key"],
            "form_secret": state["form_secret"],
            # No federation at all: no federation listener, no peers, no key servers.
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "allow_public_rooms_over_federation": False,
            # Accounts and memberships are made by the front end's provisioning, never on first login.
            "enable_registration": False,
            "auto_join_rooms": [],
            "bcrypt_rounds": self.bcrypt_rounds,
            "room_list_publication_rules": [{"action": "allow"}],
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            **IDENTITY_CONFIG,
        }
        if self.raise_rate_limits:
            config.update(raised_rate_limits())
        if self.appservice:
            registration = self.folder / "appservice.yaml"
            registration.write_text(yaml.safe_dump(self.appservice, sort_keys=False))
            registration.chmod(0o600)
            config["app_service_config_files"] = [str(registration)]
        config.update(self.extra_config)
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.config_path.chmod(0o600)
        return self.config_path

    def _configure_topology(self) -> Path:
        """The deployment's files are already in the folder: remember what the launcher needs."""
        if not self.config_path.exists():
            raise LocalSynapseError(f"{self.config_path} is missing: write the deployment (lpcfe.deployment) first.")
        state = self._load_state()
        state["server_name"] = self.server_name
        state["port"] = self.requested_port
        secret = self.folder / "secrets" / "registration_shared_secret"
        state["registration_shared_secret"] = secret.read_text().strip()
        self._save_state()
        (self.topology.synapse_data_dir).mkdir(parents=True, exist_ok=True)
        self.topology.log_dir.mkdir(parents=True, exist_ok=True)
        return self.config_path

    # -- workers (topology mode) ------------------------------------------------------------
    @property
    def worker_names(self) -> list[str]:
        return [PERSISTER, *self.topology.worker_names] if self.topology else []

    def worker_port(self, name: str) -> int:
        t = self.topology
        return t.persister_port if name == PERSISTER else t.worker_ports[t.worker_names.index(name)]

    def worker_log(self, name: str) -> Path:
        return self.topology.log_dir / f"{name}.log"

    def _start_worker(self, name: str) -> None:
        console = (self.folder / f"console-{name}.log").open("ab")
        self._workers[name] = subprocess.Popen(
            [self.python, "-m", "synapse.app.generic_worker", "-c", str(self.config_path)]
            + ["-c", str(self.folder / "workers" / f"{name}.yaml")],
            cwd=self.folder,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        console.close()

    def _wait_worker(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.worker_port(name)}/health"
        while time.monotonic() < deadline:
            if self._workers[name].poll() is not None:
                raise LocalSynapseError(
                    f"Synapse worker {name} exited with status {self._workers[name].returncode}; "
                    f"see {self.folder / f'console-{name}.log'} and {self.worker_log(name)}."
                )
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise LocalSynapseError(f"Synapse worker {name} did not answer {url} within {timeout:.0f} s.")

    def start_worker(self, name: str, timeout: float = 120) -> None:
        """(Re)start one worker, e.g. after kill_worker()."""
        self._start_worker(name)
        self._wait_worker(name, timeout)

    def worker_pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self._workers.items() if p.poll() is None}

    def kill_worker(self, name: str) -> None:
        """SIGKILL one worker, as a crash would end it."""
        process = self._workers.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def _stop_workers(self) -> None:
        for process in self._workers.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for name, process in list(self._workers.items()):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
            del self._workers[name]

    def _database_config(self) -> dict[str, Any]:
        if self.database_args:
            return {"name": "psycopg2", "args": {"cp_min": 5, "cp_max": 10, **self.database_args}}
        return {"name": "sqlite3", "args": {"database": str(self.folder / "homeserver.db")}}

    def _write_signing_key(self) -> None:
        path = self.folder / "signing.key"
        if path.exists():
            return
        from signedjson.key import generate_signing_key, write_signing_keys

        with path.open("w") as stream:
            write_signing_keys(stream, [generate_signing_key("a_" + secrets.token_hex(2))])
        path.chmod(0o600)

    def _write_log_config(self) -> None:
        log_config = {
            "version": 1,
            "formatters": {
                "precise": {"format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s"}
            },
            # Unbuffered so a test can read what was requested right after the request.
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "precise",
                    "filename": str(self.log_path),
                    "encoding": "utf8",
                }
            },
            "root": {"level": "INFO", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }
        (self.folder / LOG_CONFIG_FILE).write_text(yaml.safe_dump(log_config, sort_keys=False))

    # -- process --------------------------------------------------------------------------
    def _running_pid(self) -> int | None:
        """The pid of this folder's Synapse if one is running (even one started by another process)."""
        if self._process is not None and self._process.poll() is None:
            return self._process.pid
        pid_path = self.folder / PID_FILE
        if not pid_path.exists():
            return None
        try:
            pid = int(pid_path.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\x00")
        except (ValueError, OSError):
            return None
        # Only our own process: a recycled pid belongs to someone else.
        return pid if str(self.config_path).encode() in cmdline else None

    def is_running(self) -> bool:
        return self._running_pid() is not None

    def start(self, timeout: float = 120, detach: bool = False) -> LocalSynapse:
        """Start (or find running) and wait until it answers; creates the admin user once.

        detach=True leaves it running after this Python process exits (the demo); stop it
        later with `LocalSynapse(folder).stop()`.
        """
        if not self.is_running():
            self.configure()
            console = (self.folder / CONSOLE_FILE).open("ab")
            self._process = subprocess.Popen(
                [self.python, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C meant for the caller's terminal is not Synapse's
            )
            console.close()
            (self.folder / PID_FILE).write_text(str(self._process.pid))
            logger.info("Started Synapse (pid %s) for %s on %s", self._process.pid, self.server_name, self.url)
        self.wait_healthy(timeout)
        self.ensure_admin()
        if self.topology is not None:
            for name in self.worker_names:
                if name not in self._workers:
                    self._start_worker(name)
            for name in self.worker_names:
                self._wait_worker(name, timeout)
        if detach:
            self._process = None  # forget the handle; the pid file still finds it
        return self

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise LocalSynapseError(
                    f"Synapse exited with status {self._process.returncode} while starting; "
                    f"see {self.folder / CONSOLE_FILE} and {self.log_path}.\n{self._console_tail()}"
                )
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise LocalSynapseError(
            f"Synapse did not answer {self.url}/health within {timeout:.0f} s; see {self.log_path}."
        )

    def _console_tail(self, lines: int = 20) -> str:
        path = self.folder / CONSOLE_FILE
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30) -> None:
        self._stop_workers()
        pid = self._running_pid()
        if pid is None:
            self._process = None
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._alive(pid):
            time.sleep(0.1)
        if self._alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(5)
        self._process = None
        with contextlib.suppress(FileNotFoundError):
            (self.folder / PID_FILE).unlink()
        logger.info("Stopped Synapse for %s", self.server_name)

    def _alive(self, pid: int) -> bool:
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # A zombie (exited, not yet reaped by its parent) is as good as gone.
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
                return False
        return True

    def stop_when_exits(self, pid: int) -> None:
        """Leave a small watcher behind that stops this homeserver once process `pid` is gone
        (the demo's web server), however it ends."""
        subprocess.Popen(
            [self.python, "-m", "chat_embed.localsynapse", "watch", str(self.folder), str(pid)],
            cwd=Path(__file__).resolve().parent.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def restart(self, timeout: float = 120) -> None:
        """Stop and start again on the same port, keeping every account, room and token."""
        self.stop()
        self.start(timeout)

    def __enter__(self) -> LocalSynapse:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- users ----------------------------------------------------------------------------
    def register_user(
        self, localpart: str, password: str | None = None, *, admin: bool = False, displayname: str | None = None
    ) -> dict[str, Any]:
        """Create a user with the shared-secret registration API; returns Synapse's answer
        (access_token, user_id, device_id)."""
        password = password or secrets.token_urlsafe(24)
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        nonce = requests.get(endpoint, timeout=HTTP_TIMEOUT).json()["nonce"]
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": shared_secret_mac(self.registration_shared_secret, nonce, localpart, password, admin),
        }
        if displayname:
            body["displayname"] = displayname
        response = requests.post(endpoint, json=body, timeout=HTTP_TIMEOUT)
        if response.status_code != 200:
            raise LocalSynapseError(f"Registering {localpart!r} failed: HTTP {response.status_code} {response.text}")
        return response.json()

    def _token_works(self, token: str) -> bool:
        try:
            response = requests.get(
                f"{self.url}/_matrix/client/v3/account/whoami",
                headers={"Authorization": f"Bearer {token}"},
                timeout=HTTP_TIMEOUT,
            )
        except requests.RequestException:
            return False
        return response.status_code == 200

    def ensure_admin(self) -> str:
        """The admin's access token, registering the admin on first start."""
        state = self._load_state()
        token = state.get("admin_token")
        if token and self._token_works(token):
            return token
        if not state.get("admin_password"):
            state["admin_password"] = secrets.token_urlsafe(24)
            answer = self.register_user(ADMIN_LOCALPART, state["admin_password"], admin=True, displayname="lpcfe")
        else:
            # Registered earlier but the token was revoked: log in once with the stored password.
            response = requests.post(
                f"{self.url}/_matrix/client/v3/login",
                json={
                    "type": "m.login.password",
                    "identifier": {"type": "m.id.user", "user": ADMIN_LOCALPART},
                    "password": state["admin_password"],
                    "initial_device_display_name": "lpcfe local admin",
                },
                timeout=HTTP_TIMEOUT,
            )
            if response.status_code != 200:
                raise LocalSynapseError(f"Admin login failed: HTTP {response.status_code} {response.text}")
            answer = response.json()
        state["admin_token"] = answer["access_token"]
        self._save_state()
        return state["admin_token"]

    def count_requests(self, path_fragment: str, method: str | None = None) -> int:
        """How many HTTP requests whose path contains `path_fragment` Synapse has logged."""
        if not self.log_path.exists():
            return 0
        needle = f'"{method} ' if method else '"'
        count = 0
        for line in self.log_path.read_text(errors="replace").splitlines():
            if "Processed request" not in line:
                continue
            start = line.find(needle)
            if start < 0:
                continue
            request_line = line[start + 1 : line.find('"', start + 1)]
            parts = request_line.split(" ")
            if len(parts) >= 2 and path_fragment in parts[1]:
                count += 1
        return count


def _watch(folder: str, pid: int) -> None:
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:
            pass
        time.sleep(1)
    LocalSynapse(folder).stop()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "watch":
        _watch(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: python -m chat_embed.localsynapse watch FOLDER PID")
