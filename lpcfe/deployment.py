"""The production topology, written out from one description: nginx, gunicorn, systemd units,
Synapse as a main process with generic workers behind Redis replication, and the live chat
(nginx's nchan module on the same Redis, fed by Synapse's application service pushes).

    python -m lpcfe.deployment --workers 4 --site-host conference.example.org \\
        --matrix-host matrix.example.org --server-name example.org --out deploy

writes every file into `deploy/` (see docs/deployment.md for where each goes). The test suite and
the benchmark render the same files with loopback ports and temporary folders
(`bench.stack.loopback_topology`), so what is tested is what is deployed; the live chat's tests and
benchmark run the same nginx site in front of their own front end (`bench.stack.LiveEdge`).

The nginx site is built from `Upstream`s and `Location`s: a feature that needs its own route adds an
Upstream to `nginx_upstreams()` and a Location to `site_locations()` or `matrix_locations()` rather
than editing the rendered text.
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import re
import secrets
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Synapse's client API routes (its docs/workers.md, "synapse.app.generic_worker"): the ones lpcfe's
# chat uses heavily, each with the way nginx picks a process for it.
SYNC = r"^/_matrix/client/(r0|v3)/sync$"
EVENTS = r"^/_matrix/client/(api/v1|r0|v3)/events$"
INITIAL_SYNC = r"^/_matrix/client/(api/v1|r0|v3)/initialSync$"
ROOM_INITIAL_SYNC = r"^/_matrix/client/(api/v1|r0|v3)/rooms/[^/]+/initialSync$"
MESSAGES = r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/(?<mx_room>[^/]+)/messages$"
SENDS = r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/(send|redact)/"
# Streams whose writer is the event persister: their endpoints go to it.
WRITER_ROUTES = (
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/typing",
    r"^/_matrix/client/(r0|v3|unstable)/rooms/[^/]+/(receipt|read_markers)",
    r"^/_matrix/client/(r0|v3|unstable)/sendToDevice/",
)
PERSISTER = "persister1"

# The live chat (docs/live-chat.md): browsers subscribe to one nchan channel per room under LIVE_PATH;
# the front end publishes under PUBLISH_PATH on a loopback-only server.
NCHAN_MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so"
LIVE_PATH = "/live/"
PUBLISH_PATH = "/pub/"
LIVE_CHANNEL = "(room[0-9]+)$"
LIVE_BUFFER = 100  # messages a channel keeps: a new viewer's first paint
APPSERVICE_BOT = "lpcfe-live"
APPSERVICE_FILE = "lpcfe-live.yaml"


@dataclass
class Topology:
    """Everything the generated files depend on. Defaults are a production server;
    `bench.stack.loopback_topology()` gives the same shape on free loopback ports under one folder."""

    site_host: str
    matrix_host: str
    server_name: str
    workers: int = 2  # Synapse generic workers serving /sync, /messages and sends
    cores: int = 2  # of the front end's machine: gunicorn runs 2 x cores + 1 workers
    app_dir: Path = Path("/srv/lpcfe")
    config_dir: Path = Path("/etc/lpcfe")
    synapse_config_dir: Path = Path("/etc/matrix-synapse")
    synapse_data_dir: Path = Path("/var/lib/matrix-synapse")
    log_dir: Path = Path("/var/log/matrix-synapse")
    user: str = "lpcfe"
    synapse_user: str = "synapse"
    python: Path | None = None  # default: app_dir/.venv/bin/python
    tls: bool = True
    tls_dir: Path = Path("/etc/letsencrypt/live")
    site_listen: int = 443
    matrix_listen: int = 443
    gunicorn_binds: list[str] = field(default_factory=lambda: ["127.0.0.1:8000"])
    synapse_main_port: int = 8008
    synapse_replication_port: int = 9093
    worker_ports: list[int] = field(default_factory=list)  # client listener per worker; default 8101…
    worker_replication_ports: list[int] = field(default_factory=list)  # default 9101…
    persister_port: int = 8100
    persister_replication_port: int = 9100
    # Loopback only: nchan's publisher (the front end publishes there) and the application service
    # route (Synapse pushes there).
    internal_listen: int = 8081
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    synapse_database: dict[str, Any] = field(
        default_factory=lambda: {"user": "synapse", "dbname": "synapse", "host": "/var/run/postgresql"}
    )
    extra_synapse_config: dict[str, Any] = field(default_factory=dict)  # tests: lifted rate limits
    pid_dir: Path | None = None  # loopback runs keep pid files in their folder
    static_dir: Path | None = None  # default: app_dir/staticfiles (manage.py collectstatic)

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        self.worker_ports = self.worker_ports or [8101 + i for i in range(self.workers)]
        self.worker_replication_ports = self.worker_replication_ports or [9101 + i for i in range(self.workers)]
        if len(self.worker_ports) != self.workers or len(self.worker_replication_ports) != self.workers:
            raise ValueError("one client port and one replication port per worker")

    @property
    def venv_python(self) -> Path:
        return self.python or self.app_dir / ".venv" / "bin" / "python"

    @property
    def worker_names(self) -> list[str]:
        return [f"worker{i + 1}" for i in range(self.workers)]

    @property
    def gunicorn_workers(self) -> int:
        return 2 * self.cores + 1

    @property
    def site_url(self) -> str:
        return _url(self.tls, self.site_host, self.site_listen)

    @property
    def matrix_url(self) -> str:
        return _url(self.tls, self.matrix_host, self.matrix_listen)

    @property
    def internal_url(self) -> str:
        return f"http://127.0.0.1:{self.internal_listen}"

    @property
    def publish_url(self) -> str:
        return self.internal_url + PUBLISH_PATH.rstrip("/")


def _url(tls: bool, host: str, port: int) -> str:
    default = 443 if tls else 80
    return f"{'https' if tls else 'http'}://{host}" + ("" if port == default else f":{port}")


# -- nginx -------------------------------------------------------------------------------------------
@dataclass
class Upstream:
    name: str
    servers: list[str]
    balance: str = ""  # e.g. "hash $mx_user consistent", "least_conn"; empty: round robin
    keepalive: int = 16  # 0: none
    directive: str = "server"  # nchan's Redis upstreams name theirs with nchan_redis_server

    def render(self) -> str:
        lines = [f"upstream {self.name} {{"]
        if self.balance:
            lines.append(f"    {self.balance};")
        lines += [f"    {self.directive} {s};" for s in self.servers]
        if self.keepalive:
            lines.append(f"    keepalive {self.keepalive};")
        return "\n".join([*lines, "}"])


@dataclass
class Location:
    match: str  # "/static/", "~ ^/_matrix/…"
    body: list[str]
    comment: str = ""

    def render(self) -> str:
        lines = [f"    # {self.comment}"] if self.comment else []
        lines.append(f"    location {self.match} {{")
        lines += [f"        {line}" for line in self.body]
        lines.append("    }")
        return "\n".join(lines)


def _proxy(upstream: str, *, read_timeout: int = 60, host: str = "$http_host") -> list[str]:
    # The Host the browser sent, port included: Django checks a POST's Origin against it.
    return [
        f"proxy_pass http://{upstream};",
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        f"proxy_set_header Host {host};",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        f"proxy_read_timeout {read_timeout}s;",
    ]


# The user an access token belongs to, as Synapse's workers doc does it: Synapse tokens are
# syt_<base64 of the localpart>_<random>_<check>, so the part after syt_ names the user.
USER_MAPS = """\
map $arg_access_token $mx_user_from_arg {
    default $arg_access_token;
    "~^syt_(?<user>[^_]+)_" $user;
}
map $http_authorization $mx_user {
    default $http_authorization;
    "~^Bearer syt_(?<user>[^_]+)_" $user;
    "" $mx_user_from_arg;
}"""


def nginx_upstreams(t: Topology) -> list[Upstream]:
    workers = [f"127.0.0.1:{p}" for p in t.worker_ports]
    return [
        Upstream("lpcfe_app", t.gunicorn_binds, "least_conn" if len(t.gunicorn_binds) > 1 else ""),
        Upstream("synapse_main", [f"127.0.0.1:{t.synapse_main_port}"]),
        # One user's syncs always reach the same worker, which keeps that user's sync cache warm.
        Upstream("synapse_sync", workers, "hash $mx_user consistent"),
        # Synapse requires /messages for one room to be answered by one process.
        Upstream("synapse_room", workers, "hash $mx_room consistent"),
        Upstream("synapse_any", workers, "least_conn"),
        Upstream("synapse_writer", [f"127.0.0.1:{t.persister_port}"]),
        # Every nginx server of the site names the same Redis: a message published through one reaches
        # the viewers of all, with one message ID.
        Upstream(
            "lpcfe_live_redis", [f"redis://{t.redis_host}:{t.redis_port}"], keepalive=0, directive="nchan_redis_server"
        ),
    ]


def _nchan_storage() -> list[str]:
    return [
        f"nchan_message_buffer_length {LIVE_BUFFER};",
        "nchan_message_timeout 1d;",
        "nchan_redis_pass lpcfe_live_redis;",
    ]


def site_locations(t: Topology) -> list[Location]:
    static = str(t.static_dir or t.app_dir / "staticfiles") + "/"
    authorize = [
        "internal;",
        *_proxy("lpcfe_app/chat/live/authorize/"),
        "proxy_pass_request_body off;",
        'proxy_set_header Content-Length "";',
        "proxy_set_header X-Original-URI $request_uri;",
        "proxy_set_header X-Channel-Id $nchan_channel_id;",
    ]
    subscribe = [
        "nchan_subscriber eventsource;",
        "nchan_channel_id $1;",
        "nchan_authorize_request /_lpcfe_live_authorize;",
        "nchan_subscriber_first_message oldest;",
        "nchan_subscriber_last_message_id $http_last_event_id $arg_last_event_id;",
        "nchan_eventsource_ping_interval 30;",
        'add_header Cache-Control "no-store";',
        *_nchan_storage(),
    ]
    return [
        Location(
            "/static/",
            [f"alias {static};", "expires 7d;", 'add_header Cache-Control "public";', "access_log off;"],
            "collected static files (manage.py collectstatic); whitenoise serves them too, nginx is cheaper",
        ),
        Location("= /_lpcfe_live_authorize", authorize, "the front end says whether a viewer may read a channel"),
        Location(
            f"~ ^{LIVE_PATH}{LIVE_CHANNEL}", subscribe, "live chat: one EventSource per viewer, one channel per room"
        ),
        Location("^~ /_matrix/app/", ["return 404;"], "the homeserver pushes on the loopback server only"),
        Location("/", _proxy("lpcfe_app"), "the front end under gunicorn"),
    ]


def internal_locations(t: Topology) -> list[Location]:
    publish = ["nchan_publisher http;", "nchan_channel_id $1;", *_nchan_storage()]
    return [
        Location(f"~ ^{PUBLISH_PATH}{LIVE_CHANNEL}", publish, "the front end publishes each pushed message once"),
        # As if it came to the site: Django answers only for its ALLOWED_HOSTS.
        Location("/_matrix/app/", _proxy("lpcfe_app", host=t.site_host), "Synapse's application service pushes"),
        Location("/", ["return 404;"]),
    ]


def matrix_locations(t: Topology) -> list[Location]:
    # Long-polls: the client asks for 30 s; the proxy must wait longer than that.
    sync = _proxy("synapse_sync", read_timeout=120)
    return [
        Location(f"~ {SYNC}", sync, "syncs, sticky per user"),
        Location(f"~ {EVENTS}", sync),
        Location(f"~ {INITIAL_SYNC}", sync),
        Location(f"~ {ROOM_INITIAL_SYNC}", sync),
        Location(f"~ {MESSAGES}", _proxy("synapse_room"), "history of one room: always the same worker"),
        Location(f"~ {SENDS}", _proxy("synapse_any"), "sends and redactions: any worker"),
        *(Location(f"~ {route}", _proxy("synapse_writer"), "the writer of this stream") for route in WRITER_ROUTES),
        Location("^~ /_synapse/admin", ["return 404;"], "the admin API is for the front end, on loopback only"),
        Location("/", _proxy("synapse_main"), "everything else: the main process"),
    ]


def _server(host: str, port: int, locations: list[Location], extra: list[str], tls_dir: Path | None) -> str:
    lines = ["server {"]
    if tls_dir:
        cert = tls_dir / host
        lines += [
            f"    listen {port} ssl http2;",
            f"    listen [::]:{port} ssl http2;",
            f"    ssl_certificate {cert / 'fullchain.pem'};",
            f"    ssl_certificate_key {cert / 'privkey.pem'};",
            "    ssl_protocols TLSv1.2 TLSv1.3;",
            "    ssl_session_cache shared:lpcfe_tls:10m;",
        ]
    else:
        lines.append(f"    listen 127.0.0.1:{port};")
    lines.append(f"    server_name {host};")
    lines += [f"    {line}" for line in extra]
    lines += [""] + [loc.render() for loc in locations]
    lines.append("}")
    return "\n".join(lines)


def nginx_site(t: Topology) -> str:
    """The http-level part of nginx's configuration: /etc/nginx/sites-available/lpcfe."""
    parts = [
        "# Generated by `python -m lpcfe.deployment`: change the options and generate again.",
        USER_MAPS,
        *(u.render() for u in nginx_upstreams(t)),
    ]
    if t.tls:
        parts.append(
            "server {\n    listen 80;\n    listen [::]:80;\n"
            f"    server_name {t.site_host} {t.matrix_host};\n"
            "    location /.well-known/acme-challenge/ { root /var/www/html; }\n"
            "    location / { return 301 https://$host$request_uri; }\n}"
        )
    tls_dir = t.tls_dir if t.tls else None
    parts.append(_server(t.site_host, t.site_listen, site_locations(t), ["client_max_body_size 10m;"], tls_dir))
    # The front end sends its own HSTS header (SECURE_HSTS_SECONDS); Synapse does not.
    hsts = ['add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;'] if t.tls else []
    parts.append(
        _server(t.matrix_host, t.matrix_listen, matrix_locations(t), ["client_max_body_size 50m;", *hsts], tls_dir)
    )
    parts.append(_server("127.0.0.1", t.internal_listen, internal_locations(t), [], None))
    return "\n\n".join(parts) + "\n"


def nginx_main(t: Topology, site: Path, run_dir: Path) -> str:
    """A whole nginx.conf for a private nginx on loopback (tests, benchmark) around the same site."""
    temp = "\n".join(
        f"    {kind}_temp_path {run_dir / (kind + '_temp')};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi")
    )
    # Debian's own nginx.conf loads the module from /etc/nginx/modules-enabled (libnginx-mod-nchan).
    # The workers run as whoever starts it, to read the run's private folders and raise their file
    # limit for thousands of live viewers (nginx ignores `user` when not started by root).
    user, group = pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name
    return f"""load_module {NCHAN_MODULE};
daemon off;
user {user} {group};
worker_processes 2;
worker_rlimit_nofile 65536;
pid {run_dir / "nginx.pid"};
error_log {run_dir / "nginx-error.log"} warn;
events {{ worker_connections 16384; }}
http {{
    include /etc/nginx/mime.types;
    log_format routed '$remote_addr "$request" $status $upstream_addr $request_time';
    access_log {run_dir / "nginx-access.log"} routed;
{temp}
    scgi_temp_path {run_dir / "scgi_temp"};
    include {site};
}}
"""


# -- gunicorn and the front end's environment ----------------------------------------------------------
def gunicorn_conf(t: Topology) -> str:
    return f"""# Generated by `python -m lpcfe.deployment`.
bind = {t.gunicorn_binds!r}
# gthread: a request mostly waits on LDAP, the homeserver or BBB, and a waiting thread frees the CPU.
worker_class = "gthread"
workers = {t.gunicorn_workers}  # 2 x cores + 1
threads = 4
# nginx keeps its upstream connections open (keepalive in the site).
keepalive = 75
timeout = 60
graceful_timeout = 30
# Recycle workers now and then, not all at once.
max_requests = 2000
max_requests_jitter = 200
worker_tmp_dir = "/dev/shm"
forwarded_allow_ips = "127.0.0.1"
accesslog = "-"
"""


def lpcfe_env(t: Topology, appservice: dict[str, Any]) -> str:
    """The front end's settings that follow from the topology and the application service
    registration; the organiser adds the rest (LDAP_*, BBB_*, MATRIX_ADMIN_TOKEN, SCHEDULE_SOURCE)
    as docs/deployment.md says."""
    return f"""# Generated by `python -m lpcfe.deployment`; add the settings docs/deployment.md lists.
SECRET_KEY={secrets.token_urlsafe(50)}
SITE_URL={t.site_url}
ALLOWED_HOSTS={t.site_host}
BEHIND_TLS_PROXY={"1" if t.tls else "0"}
CLIENT_IP_HEADER=HTTP_X_REAL_IP
DATABASE_URL=postgres://{t.user}@/{t.user}
CACHE_URL=redis://{t.redis_host}:{t.redis_port}/1
MATRIX_URL=http://127.0.0.1:{t.synapse_main_port}
MATRIX_PUBLIC_URL={t.matrix_url}
MATRIX_SERVER_NAME={t.server_name}
MATRIX_APPSERVICE_HS_TOKEN={appservice["hs_token"]}
MATRIX_APPSERVICE_AS_TOKEN={appservice["as_token"]}
MATRIX_APPSERVICE_BOT={appservice["sender_localpart"]}
LIVE_SUBSCRIBE_PATH={LIVE_PATH}
LIVE_PUBLISH_URL={t.publish_url}
"""


# -- systemd -----------------------------------------------------------------------------------------------
def _unit(description: str, service: list[str], *, after: str, part_of: str = "", wanted_by: str = "") -> str:
    unit = ["[Unit]", f"Description={description}", f"After={after}", f"Wants={after}"]
    if part_of:
        unit.append(f"PartOf={part_of}")
    unit += ["", "[Service]", *service]
    if wanted_by:
        unit += ["", "[Install]", f"WantedBy={wanted_by}"]
    return "\n".join(unit) + "\n"


_HARDENING = ["NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectSystem=full", "ProtectHome=yes"]


def systemd_units(t: Topology) -> dict[str, str]:
    py = t.venv_python
    lpcfe_env_file = t.config_dir / "lpcfe.env"
    front = [
        "Type=notify",
        f"User={t.user}",
        f"WorkingDirectory={t.app_dir}",
        f"EnvironmentFile={lpcfe_env_file}",
        f"ExecStart={py} -m gunicorn -c {t.config_dir / 'gunicorn.conf.py'} lpcfe.wsgi:application",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        *_HARDENING,
    ]
    units = {
        "lpcfe.service": _unit(
            "lpcfe conference front end (gunicorn)",
            front,
            after="network-online.target postgresql.service redis-server.service",
            wanted_by="multi-user.target",
        ),
        "lpcfe-import-schedule.service": _unit(
            "lpcfe: import the schedule from SCHEDULE_SOURCE",
            [
                "Type=oneshot",
                f"User={t.user}",
                f"WorkingDirectory={t.app_dir}",
                f"EnvironmentFile={lpcfe_env_file}",
                f"ExecStart={py} manage.py import_schedule",
                *_HARDENING,
            ],
            after="network-online.target postgresql.service",
        ),
        "lpcfe-import-schedule.timer": "\n".join(
            [
                "[Unit]",
                "Description=lpcfe: import the schedule every 5 minutes",
                "",
                "[Timer]",
                "OnCalendar=*:0/5",
                "RandomizedDelaySec=30",
                "Persistent=true",
                "",
                "[Install]",
                "WantedBy=timers.target",
                "",
            ]
        ),
        "matrix-synapse.target": "\n".join(
            [
                "[Unit]",
                "Description=Synapse: main process and workers",
                "",
                "[Install]",
                "WantedBy=multi-user.target",
                "",
            ]
        ),
    }
    shared = t.synapse_config_dir / "homeserver.yaml"
    synapse_common = [
        "Type=notify",
        "NotifyAccess=main",
        f"User={t.synapse_user}",
        f"WorkingDirectory={t.synapse_data_dir}",
        "Restart=on-failure",
        "RestartSec=3",
        "SyslogIdentifier=%N",
        *_HARDENING,
    ]
    units["matrix-synapse.service"] = _unit(
        "Synapse main process",
        [*synapse_common, f"ExecStart={py} -m synapse.app.homeserver --config-path {shared}"],
        after="network-online.target postgresql.service redis-server.service",
        part_of="matrix-synapse.target",
        wanted_by="matrix-synapse.target",
    )
    for name in [PERSISTER, *t.worker_names]:
        worker_file = t.synapse_config_dir / "workers" / f"{name}.yaml"
        units[f"matrix-synapse-{name}.service"] = _unit(
            f"Synapse worker {name}",
            [
                *synapse_common,
                f"ExecStart={py} -m synapse.app.generic_worker --config-path {shared} --config-path {worker_file}",
            ],
            after="matrix-synapse.service",
            part_of="matrix-synapse.target",
            wanted_by="matrix-synapse.target",
        )
    return units


# -- Synapse ------------------------------------------------------------------------------------------------
def appservice_registration(
    url: str, *, hs_token: str, as_token: str, server_name: str, bot: str = APPSERVICE_BOT, aliases: Iterable[str] = ()
) -> dict[str, Any]:
    """The live chat's application service registration (Synapse's `app_service_config_files`):
    Synapse pushes every event of a room the bot is in to `url`, once, with `hs_token`. `aliases`
    (regular expressions) name rooms it pushes whether the bot is in them or not."""
    server = re.escape(server_name)
    return {
        "id": "lpcfe-live",
        "url": url.rstrip("/"),
        "as_token": as_token,
        "hs_token": hs_token,
        "sender_localpart": bot,
        "rate_limited": False,
        "receive_ephemeral": False,  # typing, receipts and presence are never shown
        "namespaces": {
            "users": [{"exclusive": True, "regex": f"@{re.escape(bot)}:{server}"}],
            "aliases": [{"exclusive": False, "regex": pattern} for pattern in aliases],
            "rooms": [],
        },
    }


def conference_synapse_settings() -> dict[str, Any]:
    """What docs/matrix.md recommends for a homeserver that serves a conference (every Synapse
    lpcfe starts uses these too: the demo's, the tests', the benchmark's)."""
    return {
        "enable_registration": False,
        "auto_join_rooms": [],
        "presence": {"enabled": False},
        "push": {"enabled": False},
        "user_directory": {"enabled": False},
        # "enabled: false" only stops the search; a process name that does not exist stops the updater.
        "update_user_directory_from_worker": "nobody",
        # No federation: no peers, no key servers, and no federation sender working through every event.
        "federation_domain_whitelist": [],
        "federation_sender_instances": [],
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "allow_public_rooms_over_federation": False,
        "url_preview_enabled": False,
        "report_stats": False,
    }


def _log_config(log_file: Path) -> dict[str, Any]:
    return {
        "version": 1,
        "formatters": {
            "precise": {"format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s"}
        },
        "handlers": {
            "file": {"class": "logging.FileHandler", "formatter": "precise", "filename": str(log_file)},
        },
        "root": {"level": "INFO", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


def synapse_files(t: Topology) -> dict[str, str]:
    """homeserver.yaml (shared by every process), one file per worker and one log config per
    process, relative to the Synapse config folder. Secrets are files beside them (`secret_files`)."""
    conf = t.synapse_config_dir
    names = [PERSISTER, *t.worker_names]
    replication_ports = [t.persister_replication_port, *t.worker_replication_ports]
    instance_map: dict[str, Any] = {"main": {"host": "127.0.0.1", "port": t.synapse_replication_port}}
    for name, port in zip(names, replication_ports, strict=True):
        instance_map[name] = {"host": "127.0.0.1", "port": port}
    shared: dict[str, Any] = {
        "server_name": t.server_name,
        "public_baseurl": t.matrix_url + "/",
        "listeners": [
            {
                "port": t.synapse_main_port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "x_forwarded": True,
                "resources": [{"names": ["client"], "compress": False}],
            },
            {
                "port": t.synapse_replication_port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "resources": [{"names": ["replication"]}],
            },
        ],
        "database": {"name": "psycopg2", "args": {"cp_min": 5, "cp_max": 10, **t.synapse_database}},
        "log_config": str(conf / "log-main.yaml"),
        "media_store_path": str(t.synapse_data_dir / "media_store"),
        "signing_key_path": str(conf / "signing.key"),
        "macaroon_secret_key_path": str(conf / "secrets" / "macaroon_secret_key"),
        "form_secret_path": str(conf / "secrets" / "form_secret"),
        "registration_shared_secret_path": str(conf / "secrets" / "registration_shared_secret"),
        "worker_replication_secret_path": str(conf / "secrets" / "worker_replication_secret"),
        "enable_metrics": False,
        **conference_synapse_settings(),
        "redis": {"enabled": True, "host": t.redis_host, "port": t.redis_port},
        "instance_map": instance_map,
        # One process writes events (and the streams the chat touches); the others create them and
        # hand them over, so the main process only does what cannot be spread.
        "stream_writers": {"events": PERSISTER, "typing": PERSISTER, "receipts": PERSISTER, "to_device": PERSISTER},
        "run_background_tasks_on": "main",
        # Every process reads the registration: the main process pushes the events (Synapse's default
        # for notify_appservices_from_worker), and every worker must know the bot's as_token and its
        # exclusive user namespace for the requests it answers.
        "app_service_config_files": [str(conf / APPSERVICE_FILE)],
    }
    if t.pid_dir:
        shared["pid_file"] = str(t.pid_dir / "synapse-main.pid")
    shared.update(t.extra_synapse_config)
    files = {"log-main.yaml": yaml.safe_dump(_log_config(t.log_dir / "main.log"), sort_keys=False)}
    client_ports = [t.persister_port, *t.worker_ports]
    for name, port, replication in zip(names, client_ports, replication_ports, strict=True):
        worker: dict[str, Any] = {
            "worker_app": "synapse.app.generic_worker",
            "worker_name": name,
            "worker_listeners": [
                {
                    "type": "http",
                    "port": port,
                    "bind_addresses": ["127.0.0.1"],
                    "x_forwarded": True,
                    "resources": [{"names": ["client"], "compress": False}],
                },
                {
                    "type": "http",
                    "port": replication,
                    "bind_addresses": ["127.0.0.1"],
                    "resources": [{"names": ["replication"]}],
                },
            ],
            "worker_log_config": str(conf / f"log-{name}.yaml"),
        }
        if t.pid_dir:
            worker["worker_pid_file"] = str(t.pid_dir / f"synapse-{name}.pid")
        files[f"workers/{name}.yaml"] = yaml.safe_dump(worker, sort_keys=False)
        files[f"log-{name}.yaml"] = yaml.safe_dump(_log_config(t.log_dir / f"{name}.log"), sort_keys=False)
    files["homeserver.yaml"] = yaml.safe_dump(shared, sort_keys=False)
    return files


SECRET_FILES = ("macaroon_secret_key", "form_secret", "registration_shared_secret", "worker_replication_secret")


def write(t: Topology, out: Path) -> list[Path]:
    """Write every file under `out` (nginx/, systemd/, synapse/, lpcfe/); secrets and the signing
    key are made once and kept when generating again. Returns the files written."""
    written: list[Path] = []

    def put(path: Path, text: str, mode: int = 0o644) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
        written.append(path)

    secret_dir = out / "synapse" / "secrets"
    secret_dir.mkdir(parents=True, exist_ok=True)
    for name in SECRET_FILES:
        path = secret_dir / name
        if not path.exists():
            put(path, secrets.token_urlsafe(32), 0o600)
    signing_key = out / "synapse" / "signing.key"
    if not signing_key.exists():
        from signedjson.key import generate_signing_key, write_signing_keys

        with signing_key.open("w") as stream:
            write_signing_keys(stream, [generate_signing_key("a_" + secrets.token_hex(2))])
        signing_key.chmod(0o600)
        written.append(signing_key)

    # The application service's tokens are made once too: the front end's settings hold the same.
    registration_file = out / "synapse" / APPSERVICE_FILE
    known = yaml.safe_load(registration_file.read_text()) if registration_file.exists() else {}
    appservice = appservice_registration(
        t.internal_url,
        hs_token=known.get("hs_token") or secrets.token_urlsafe(32),
        as_token=known.get("as_token") or secrets.token_urlsafe(32),
        server_name=t.server_name,
    )
    put(registration_file, yaml.safe_dump(appservice, sort_keys=False), 0o600)

    put(out / "nginx" / "lpcfe.conf", nginx_site(t))
    put(out / "lpcfe" / "gunicorn.conf.py", gunicorn_conf(t))
    env_file = out / "lpcfe" / "lpcfe.env"
    if not env_file.exists():  # holds the SECRET_KEY and the organiser's own settings
        put(env_file, lpcfe_env(t, appservice), 0o600)
    for name, text in systemd_units(t).items():
        put(out / "systemd" / name, text)
    for name, text in synapse_files(t).items():
        put(out / "synapse" / name, text)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lpcfe.deployment",
        description="Write the production configuration (nginx with the live chat, gunicorn, systemd, Synapse "
        "with workers and the live chat's application service) "
        "into one folder; docs/deployment.md says where each file goes.",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write into (made if missing)")
    parser.add_argument("--site-host", required=True, help="host name of the conference pages")
    parser.add_argument("--matrix-host", required=True, help="host name browsers reach Synapse at")
    parser.add_argument("--server-name", required=True, help="Synapse server_name (the part after ':' in IDs)")
    parser.add_argument("--workers", type=int, default=2, help="Synapse generic workers (default 2)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2, help="cores for the front end")
    parser.add_argument("--app-dir", type=Path, default=Path("/srv/lpcfe"), help="lpcfe checkout with its .venv")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.cores < 1:
        parser.error("--workers and --cores must be at least 1")
    topology = Topology(
        site_host=args.site_host,
        matrix_host=args.matrix_host,
        server_name=args.server_name,
        workers=args.workers,
        cores=args.cores,
        app_dir=args.app_dir,
    )
    for path in write(topology, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
