"""The real stack on loopback, started for one benchmark run (or the test suite's topology tests)
and stopped afterwards.

- PostgreSQL: Debian's packaged cluster (started if it was down), a role and two databases
  made for this run (the front end's, and Synapse's with UTF8 / C collation) and dropped after.
- slapd: a throwaway OpenLDAP instance from a cn=config built in the run folder (the test suite's
  slapd fixture starts its directory with the same launcher).
- Synapse: chat_embed.localsynapse on the PostgreSQL database, Synapse's default bcrypt rounds.
- The front end: gunicorn (gthread workers) on a free port, production settings (DEBUG off),
  the BBB double in a gunicorn process of its own.
- With synapse_workers (or more than one front end): the production topology from the files
  lpcfe.deployment writes, on free loopback ports: redis-server, Synapse's main process, an event
  persister and N sync workers, the front ends sharing the Redis cache, nginx in front of it all.
- LiveEdge: the same redis-server and nginx (the deployment's site, with the live chat's nchan
  locations) in front of a front end started elsewhere: the live chat's tests and benchmark.

Everything registers its own clean-up on an ExitStack, so an error or Ctrl-C anywhere stops
what was started, in reverse order, and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

from chat_embed.localsynapse import LocalSynapse, raised_rate_limits
from lpcfe.deployment import Topology, conference_synapse_settings, nginx_main, nginx_site, write

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SLAPPASSWD = "/usr/sbin/slappasswd"
LDAP_SUFFIX = "dc=bench,dc=lpcfe"


class StackError(RuntimeError):
    """A part of the stack could not be started; the message says which and where to look."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise StackError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def _stop_pid(pid: int, timeout: float = 15) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _stop_child(process: subprocess.Popen | None, timeout: float = 15) -> None:
    """SIGTERM a process this launcher started (its own session) and reap it; SIGKILL its group if
    it does not end. (_stop_pid cannot tell a child that exited from one still running.)"""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


# -- PostgreSQL -------------------------------------------------------------------------------------
class Postgres:
    """A role and databases for this run in Debian's packaged cluster."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.role = f"lpcfe_bench_{tag}"
        self.password = secrets.token_hex(16)
        self.databases: list[str] = []
        self.started_cluster = False
        self.version, self.cluster, self.port = self._cluster()

    @staticmethod
    def _cluster() -> tuple[str, str, int]:
        try:
            out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True, timeout=20)
        except (OSError, subprocess.SubprocessError) as exc:
            raise StackError(f"PostgreSQL is not installed (pg_lsclusters failed: {exc}); see bin/setup.") from None
        lines = [line.split() for line in out.stdout.splitlines() if line.strip()]
        if not lines:
            raise StackError("No PostgreSQL cluster exists: create one with pg_createcluster.")
        version, cluster, port = lines[0][0], lines[0][1], int(lines[0][2])
        return version, cluster, port

    def _status_online(self) -> bool:
        out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, timeout=20).stdout
        for line in out.splitlines():
            parts = line.split()
            if parts[:2] == [self.version, self.cluster]:
                return parts[3] == "online"
        return False

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", "psql", "-p", str(self.port), "-d", database, "-v", "ON_ERROR_STOP=1"]
            + ["-qAtc", sql],
            capture_output=True,
            text=True,
            timeout=120,
            cwd="/",
        )
        if result.returncode != 0:
            raise StackError(f"psql failed: {result.stderr.strip()} (statement: {sql[:80]})")
        return result.stdout.strip()

    def start(self) -> None:
        if not self._status_online():
            subprocess.run(["pg_ctlcluster", self.version, self.cluster, "start"], check=True, timeout=120)
            self.started_cluster = True
            logger.info("Started PostgreSQL %s/%s", self.version, self.cluster)
        self.psql(f"CREATE ROLE {self.role} LOGIN PASSWORD '{self.password}'")

    def create_database(self, name: str, synapse: bool = False) -> str:
        options = " ENCODING 'UTF8' LC_COLLATE='C' LC_CTYPE='C' TEMPLATE template0" if synapse else ""
        self.psql(f"CREATE DATABASE {name} OWNER {self.role}{options}")
        self.databases.append(name)
        return name

    def url(self, database: str) -> str:
        return f"postgres://{self.role}:{self.password}@127.0.0.1:{self.port}/{database}"

    def server_version(self) -> str:
        return self.psql("SHOW server_version")

    def stop(self) -> None:
        for name in reversed(self.databases):
            with contextlib.suppress(StackError):
                self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        with contextlib.suppress(StackError):
            self.psql(f"DROP ROLE IF EXISTS {self.role}")
        if self.started_cluster:
            # Only stop the cluster we started, and only if nobody else has started using it since.
            others = "0"
            with contextlib.suppress(StackError):
                others = self.psql(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                    "AND pid <> pg_backend_pid()"
                )
            if others == "0":
                subprocess.run(["pg_ctlcluster", self.version, self.cluster, "stop"], check=False, timeout=120)
                logger.info("Stopped PostgreSQL %s/%s", self.version, self.cluster)
            else:
                logger.warning("Left PostgreSQL running: %s other connection(s) use it now.", others)


# -- slapd ---------------------------------------------------------------------------------------------
# One launcher for the test suite (tests/fixtures/slapd.py) and the benchmark.
SLAPD_CONFIG = """\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {root}/slapd.pid
olcLogLevel: none
{tls}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: pw-sha2

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif
include: file:///etc/ldap/schema/nis.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcPasswordHash: {{SSHA}}

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {root}/db
olcSuffix: {suffix}
olcRootDN: {admin_dn}
olcRootPW: {admin_hash}
olcDbMaxSize: 1073741824
olcDbNoSync: {nosync}
olcDbIndex: objectClass eq
olcDbIndex: mail eq
olcDbIndex: cn eq
olcDbIndex: member eq
olcAccess: {{0}}to attrs=userPassword by anonymous auth by * none
olcAccess: {{1}}to * by dn.exact="{reader_dn}" read by dn.exact="{limited_reader_dn}" read by self read by * none
# The service account lists every attendee for provisioning, in pages (docs/ldap.md).
olcLimits: {{0}}dn.exact="{reader_dn}" size.prtotal=unlimited
"""
SLAPD_TLS = """\
olcTLSCACertificateFile: {root}/ca.pem
olcTLSCertificateFile: {root}/server.pem
olcTLSCertificateKeyFile: {root}/server.key
"""


class Slapd:
    """A private OpenLDAP server on a free loopback port, from a cn=config built in `root`.

    Two read-only service accounts: `reader_dn` (no size limit, for provisioning's listing) and
    `limited_reader_dn` (slapd's default 500-entry limit, as directories are until told otherwise).
    tls=True makes a throwaway CA and server certificate (StartTLS tests); nosync=True skips the
    per-write fsync (~4 ms a write on this kind of disk) for a throwaway directory; people=True adds
    `ou=people` under the suffix (the bench imports its attendees there)."""

    def __init__(
        self,
        root: Path,
        *,
        suffix: str = LDAP_SUFFIX,
        admin_password: str | None = None,
        reader_password: str | None = None,
        tls: bool = False,
        nosync: bool = False,
        people: bool = True,
    ) -> None:
        self.root = root
        self.suffix = suffix
        self.port = free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}/"
        self.admin_dn = f"cn=admin,{suffix}"
        self.admin_password = admin_password or secrets.token_hex(12)
        self.reader_dn = f"cn=lpcfe-reader,{suffix}"
        self.limited_reader_dn = f"cn=lpcfe-limited-reader,{suffix}"
        self.reader_password = reader_password or secrets.token_hex(12)
        self.people = f"ou=people,{suffix}" if people else ""
        self.tls = tls
        self.nosync = nosync

    @property
    def ca_file(self) -> str:
        """The CA that signed the server's certificate (for StartTLS with LDAP_CA_FILE)."""
        return str(self.root / "ca.pem")

    @staticmethod
    def _hash(secret: str) -> str:
        return subprocess.run(
            [SLAPPASSWD, "-s", secret], capture_output=True, text=True, check=True, timeout=20
        ).stdout.strip()

    def _make_certificates(self) -> None:
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        quiet = {"check": True, "capture_output": True, "cwd": self.root, "timeout": 60}
        subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                        "-subj", "/CN=lpcfe test CA"], **quiet)  # fmt: skip
        subprocess.run(["openssl", "req", *ec, "-keyout", "server.key", "-out", "server.csr",
                        "-subj", "/CN=127.0.0.1"], **quiet)  # fmt: skip
        (self.root / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        subprocess.run(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.cnf"],
                       **quiet)  # fmt: skip

    def start(self) -> None:
        if not (Path(SLAPD).exists() and Path(SLAPADD).exists()):
            raise StackError("slapd is not installed: run bin/setup --dev (Debian packages slapd, ldap-utils).")
        (self.root / "conf").mkdir(parents=True)
        (self.root / "db").mkdir()
        if self.tls:
            self._make_certificates()
        ldif = self.root / "config.ldif"
        ldif.write_text(
            SLAPD_CONFIG.format(
                root=self.root,
                tls=SLAPD_TLS.format(root=self.root) if self.tls else "",
                suffix=self.suffix,
                admin_dn=self.admin_dn,
                admin_hash=self._hash(self.admin_password),
                reader_dn=self.reader_dn,
                limited_reader_dn=self.limited_reader_dn,
                nosync="TRUE" if self.nosync else "FALSE",
            )
        )
        subprocess.run([SLAPADD, "-n", "0", "-F", str(self.root / "conf"), "-l", str(ldif)], check=True, timeout=60)
        subprocess.run([SLAPD, "-h", self.uri, "-F", str(self.root / "conf")], check=True, timeout=60)
        _wait_for_port(self.port, 15, "slapd")
        conn = self.connect()
        try:
            top = self.suffix.split(",")[0].split("=", 1)[1]
            conn.add_s(
                self.suffix,
                [("objectClass", [b"dcObject", b"organization"]), ("dc", [top.encode()]), ("o", [b"lpcfe"])],
            )
            for dn in (self.reader_dn, self.limited_reader_dn):
                conn.add_s(
                    dn,
                    [
                        ("objectClass", [b"organizationalRole", b"simpleSecurityObject"]),
                        ("cn", [dn.split(",")[0][3:].encode()]),
                        ("userPassword", [self._hash(self.reader_password).encode()]),
                    ],
                )
            if self.people:
                conn.add_s(self.people, [("objectClass", [b"organizationalUnit"]), ("ou", [b"people"])])
        finally:
            conn.unbind_s()
        logger.info("slapd listening on %s", self.uri)

    def connect(self):
        """A python-ldap connection bound as the root DN (for setting up entries)."""
        import ldap

        conn = ldap.initialize(self.uri, bytes_mode=False)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 5)
        conn.set_option(ldap.OPT_TIMEOUT, 5)
        conn.simple_bind_s(self.admin_dn, self.admin_password)
        return conn

    def env(self) -> dict[str, str]:
        return {
            "LDAP_URI": self.uri,
            "LDAP_BIND_DN": self.reader_dn,
            "LDAP_BIND_PASSWORD": self.reader_password,
            "LDAP_USER_BASE": self.people,
            "LDAP_IMPORT_BASE": self.people,
            "LDAP_ADMIN_DN": self.admin_dn,
            "LDAP_ADMIN_PASSWORD": self.admin_password,
        }

    def pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.root / "slapd.pid").read_text().strip())
        return None

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            _stop_pid(pid)


# -- the front end ------------------------------------------------------------------------------------
class FrontEnd:
    """lpcfe under gunicorn with gthread workers."""

    def __init__(self, root: Path, env: dict[str, str], workers: int, threads: int, port: int, app: str) -> None:
        self.root = root
        self.app = app
        self.env = env
        self.workers = workers
        self.threads = threads
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.public_url = self.url  # where browsers reach it: nginx's site in the workers topology
        self.process: subprocess.Popen | None = None
        self.log_path = root / "gunicorn.log"
        # The deployment's gunicorn.conf.py in the workers topology; the options below override it
        # where the benchmark sets its own (bind, workers, threads).
        self.config: Path | None = None

    def manage(self, *args: str, timeout: float = 1800, quiet: bool = False) -> str:
        """Run a management command with the stack's settings; its output, or StackError."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = (result.stdout + result.stderr).strip()
        if result.returncode != 0:
            raise StackError(f"manage.py {' '.join(args)} failed (exit {result.returncode}):\n{output[-3000:]}")
        if not quiet and output:
            logger.info("manage.py %s:\n%s", args[0], _last_lines(output, 12))
        return output

    def probe(self, command: str, room_name: str) -> dict[str, Any]:
        result = subprocess.run(
            [sys.executable, "-m", "bench.probe", command, room_name],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise StackError(f"bench.probe {command} failed:\n{result.stderr[-2000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                *(["--config", str(self.config)] if self.config else []),
                self.app,
                "--bind",
                f"127.0.0.1:{self.port}",
                "--worker-class",
                "gthread",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--backlog",
                "2048",
                # Browsers reach the front end through a proxy that keeps connections open; so does the bench.
                "--keep-alive",
                "30",
                "--timeout",
                "60",
                "--graceful-timeout",
                "10",
                "--worker-tmp-dir",
                "/dev/shm",
                "--pid",
                str(self.root / "gunicorn.pid"),
            ],
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackError(f"gunicorn exited ({self.process.returncode}); see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/static/css/lpcfe.css", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            raise StackError(f"gunicorn did not answer within 60 s; see {self.log_path}")
        logger.info("Front end: gunicorn %d x %d threads at %s", self.workers, self.threads, self.url)

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            return [int(p) for p in children.read_text().split()]
        return []

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


# -- Redis and nginx (the workers topology) --------------------------------------------------------------
REDIS_SERVER = "/usr/bin/redis-server"
NGINX = "/usr/sbin/nginx"


class Redis:
    """A private redis-server on loopback: Synapse's replication bus, the front end's cache and the
    live chat's channels. Nothing is saved to disk, as a cache and a pub/sub bus need not be."""

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = root
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if not Path(REDIS_SERVER).exists():
            raise StackError("redis-server is not installed: run bin/setup --dev (Debian package redis-server).")
        self.root.mkdir(parents=True, exist_ok=True)
        log = (self.root / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root)]
            + ["--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        _wait_for_port(self.port, 15, "redis-server")
        logger.info("redis-server on 127.0.0.1:%d", self.port)

    def stop(self) -> None:
        _stop_child(self.process)

    def restart(self) -> None:
        """Stop and start again on the same port, empty (what a restart without persistence does)."""
        self.stop()
        self.start()


class Nginx:
    """A private nginx on loopback serving the deployment's site (live chat included), rendered
    from `topology` into `root`."""

    def __init__(self, root: Path, topology: Topology) -> None:
        self.root = root
        self.topology = topology
        self.process: subprocess.Popen | None = None

    @property
    def access_log(self) -> Path:
        return self.root / "nginx-access.log"

    @property
    def site_url(self) -> str:
        return self.topology.site_url

    @property
    def publish_url(self) -> str:
        return self.topology.publish_url

    def another(self, root: Path) -> Nginx:
        """A second nginx server on ports of its own, with the same upstreams and Redis (as a second
        machine serving the same site would be)."""
        ports = {name: free_port() for name in ("site_listen", "matrix_listen", "internal_listen")}
        return Nginx(root, replace(self.topology, **ports))

    def start(self) -> None:
        if not Path(NGINX).exists():
            raise StackError("nginx is not installed: run bin/setup --dev (Debian packages nginx, libnginx-mod-nchan).")
        self.root.mkdir(parents=True, exist_ok=True)
        site = self.root / "lpcfe.conf"
        site.write_text(nginx_site(self.topology))
        conf = self.root / "nginx.conf"
        conf.write_text(nginx_main(self.topology, site, self.root))
        checked = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30)
        if checked.returncode != 0:
            raise StackError(f"nginx refused {conf}: {checked.stderr.strip()}")
        self.process = subprocess.Popen(
            [NGINX, "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "nginx-console.log").open("ab"),
            start_new_session=True,
        )
        t = self.topology
        for port in {t.site_listen, t.matrix_listen, t.internal_listen}:
            _wait_for_port(port, 15, "nginx")
        logger.info("nginx: site %s, Matrix %s", t.site_url, t.matrix_url)

    def stop(self) -> None:
        """nginx's fast stop: open streams are cut, as in a crash or a restart."""
        _stop_child(self.process)


def loopback_topology(root: Path, *, workers: int = 1, frontends: int = 1, **fixed: Any) -> Topology:
    """The deployment's Topology on free loopback ports with every folder under `root`; `fixed`
    names what the caller knows (server_name, redis_port, synapse_database, or a port)."""
    ports = {
        "site_listen": free_port(),
        "matrix_listen": free_port(),
        "internal_listen": free_port(),
        "gunicorn_binds": [f"127.0.0.1:{free_port()}" for _ in range(frontends)],
        "synapse_main_port": free_port(),
        "synapse_replication_port": free_port(),
        "worker_ports": [free_port() for _ in range(workers)],
        "worker_replication_ports": [free_port() for _ in range(workers)],
        "persister_port": free_port(),
        "persister_replication_port": free_port(),
    }
    return Topology(
        **{
            "site_host": "127.0.0.1",
            "matrix_host": "127.0.0.1",
            "workers": workers,
            "cores": 1,
            "app_dir": REPO,
            "python": Path(sys.executable),
            "config_dir": root / "deploy" / "lpcfe",
            "synapse_config_dir": root / "deploy" / "synapse",
            "synapse_data_dir": root / "synapse-data",
            "log_dir": root / "synapse-logs",
            "pid_dir": root / "deploy" / "synapse",
            "tls": False,
            **ports,
            **fixed,
        }
    )


class LiveEdge:
    """redis-server and nginx serving the deployment's site in front of front ends that already
    listen (`front_ends`, host:port): what the live chat's tests and benchmark put between their
    browsers, their homeserver and their front end. The site's Matrix routes lead nowhere here: those
    clients reach their homeserver directly."""

    def __init__(self, root: Path, front_ends: list[str], **fixed: Any) -> None:
        self.root = root
        self.redis = Redis(root / "redis")
        topology = loopback_topology(
            root, server_name="localhost", redis_port=self.redis.port, gunicorn_binds=front_ends, **fixed
        )
        self.nginx = Nginx(root / "nginx", topology)
        self.others: list[Nginx] = []

    def start(self) -> LiveEdge:
        self.redis.start()
        self.nginx.start()
        return self

    def another_nginx(self) -> Nginx:
        """A second nginx server sharing the Redis."""
        other = self.nginx.another(self.root / f"nginx-{len(self.others) + 2}")
        self.others.append(other)
        other.start()
        return other

    def stop(self) -> None:
        for server in [*self.others, self.nginx]:
            server.stop()
        self.redis.stop()


def _last_lines(text: str, count: int) -> str:
    return "\n".join(text.splitlines()[-count:])


# -- the whole stack ------------------------------------------------------------------------------------
class Stack:
    """Start with `start()` inside `with contextlib.ExitStack() as cleanup`; every part stops on exit."""

    def __init__(
        self,
        root: Path,
        *,
        workers: int,
        threads: int,
        bcrypt_rounds: int,
        keep: bool,
        profile_frontend: bool = False,
        bbb_separate: bool = True,
        synapse_workers: int = 0,
        frontends: int = 1,
    ) -> None:
        self.root = root
        self.synapse_workers = synapse_workers
        self.frontends = frontends
        self.redis: Redis | None = None
        self.nginx: Nginx | None = None
        self.topology = None
        self.fronts: list[FrontEnd] = []
        self.profile_frontend = profile_frontend
        self.bbb_separate = bbb_separate
        self.bbb: FrontEnd | None = None
        self.workers = workers
        self.threads = threads
        self.bcrypt_rounds = bcrypt_rounds
        self.keep = keep
        self.postgres: Postgres | None = None
        self.slapd: Slapd | None = None
        self.synapse: LocalSynapse | None = None
        self.front: FrontEnd | None = None
        self.versions: dict[str, str] = {}

    def start(self, cleanup: contextlib.ExitStack) -> None:
        tag = f"{os.getpid()}_{secrets.token_hex(2)}"
        self.postgres = Postgres(tag)
        self.postgres.start()
        if not self.keep:
            cleanup.callback(self.postgres.stop)
        front_db = self.postgres.create_database(f"lpcfe_bench_{tag}")
        synapse_db = self.postgres.create_database(f"synapse_bench_{tag}", synapse=True)
        self.versions["postgresql"] = self.postgres.server_version()

        self.slapd = Slapd(self.root / "slapd")
        cleanup.callback(self.slapd.stop)
        self.slapd.start()

        database = {
            "user": self.postgres.role,
            "password": self.postgres.password,
            "database": synapse_db,
            "host": "127.0.0.1",
            "port": self.postgres.port,
        }
        if self.synapse_workers or self.frontends > 1:
            self._start_topology(cleanup, database)
        else:
            self.synapse = LocalSynapse(
                self.root / "synapse",
                server_name="bench.lpcfe.test",
                raise_rate_limits=True,
                bcrypt_rounds=self.bcrypt_rounds,
                # What docs/matrix.md recommends for a conference homeserver, as production has it.
                extra_config=conference_synapse_settings(),
                database_args=database,
            )
            cleanup.callback(self.synapse.stop)
            logger.info("Starting Synapse on PostgreSQL (bcrypt_rounds %d)…", self.bcrypt_rounds)
            self.synapse.start(timeout=180)
        import synapse

        self.versions["synapse"] = synapse.__version__

        port = free_port() if self.topology is None else int(self.topology.gunicorn_binds[0].rsplit(":", 1)[1])
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("LDAP_", "MATRIX_", "BBB_", "DJANGO_"))},
            "DJANGO_SETTINGS_MODULE": "lpcfe.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": self.postgres.url(front_db),
            "LPCFE_DATA_DIR": str(self.root / "data"),
            **self.slapd.env(),
            **self.synapse.env(),
        }
        if self.bbb_separate:
            # The BBB double in a process of its own, as BBB runs on its own servers: the same project
            # with BBB_URL empty (so the simulator is mounted), sharing the database and data folder;
            # the front end reaches it through BBB_URL like a real BBB. Inside the front end, its
            # answers would compete with the pages it answers for (the front page asks BBB how full
            # each room is) and distort both.
            bbb_port = free_port()
            bbb_env = {**env, "SITE_URL": f"http://127.0.0.1:{bbb_port}"}
            secret_file = self.root / "data" / "bbb_simulator_secret"
            secret_file.parent.mkdir(parents=True, exist_ok=True)
            secret_file.write_text(secrets.token_hex(20))
            secret_file.chmod(0o600)
            self.bbb = FrontEnd(self.root / "bbb", bbb_env, 1, 8, bbb_port, "lpcfe.wsgi:application")
            self.bbb.root.mkdir()
            env["BBB_URL"] = f"{self.bbb.url}/bbb-simulator/bigbluebutton/"
            env["BBB_SECRET"] = secret_file.read_text().strip()
            self.bbb.manage("migrate", "--noinput", quiet=True)
        app = "lpcfe.wsgi:application"
        if self.profile_frontend:
            (self.root / "profile").mkdir()
            env["BENCH_PROFILE_DIR"] = str(self.root / "profile")
            app = "bench.profiled_wsgi:application"
        if self.topology is not None:
            # Behind nginx: pages at the site URL, browsers reach Synapse through nginx's routes,
            # the front end itself calls the main process directly (its admin API is not public).
            env.update(
                SITE_URL=self.topology.site_url,
                CACHE_URL=f"redis://127.0.0.1:{self.redis.port}/1",
                CLIENT_IP_HEADER="HTTP_X_REAL_IP",
                MATRIX_PUBLIC_URL=self.topology.matrix_url,
            )
        self.front = FrontEnd(self.root, env, self.workers, self.threads, port, app)
        self.front.manage("migrate", "--noinput", quiet=True)
        self.front.manage("collectstatic", "--noinput", quiet=True)
        if self.bbb is not None:
            cleanup.callback(self.bbb.stop)
            self.bbb.start()
        self.fronts = [self.front]
        if self.topology is not None:
            self.front.config = self.topology_file("lpcfe", "gunicorn.conf.py")
            for i, bind in enumerate(self.topology.gunicorn_binds[1:], start=2):
                port_i = int(bind.rsplit(":", 1)[1])
                other = FrontEnd(self.root / f"front{i}", env, self.workers, self.threads, port_i, app)
                other.root.mkdir()
                other.config = self.front.config
                self.fronts.append(other)
        for front in self.fronts:
            cleanup.callback(front.stop)
            front.start()
        if self.topology is not None:
            self.nginx = Nginx(self.root / "nginx", self.topology)
            cleanup.callback(self.nginx.stop)
            self.nginx.start()
            self.front.public_url = self.topology.site_url

    def topology_file(self, *parts: str) -> Path:
        """A file lpcfe.deployment wrote for this run."""
        return self.root.joinpath("deploy", *parts)

    def _start_topology(self, cleanup: contextlib.ExitStack, database: dict[str, Any]) -> None:
        """Redis, then Synapse's main process and workers from the files lpcfe.deployment writes."""
        self.redis = Redis(self.root / "redis")
        cleanup.callback(self.redis.stop)
        self.redis.start()
        self.topology = loopback_topology(
            self.root,
            workers=max(1, self.synapse_workers),
            frontends=self.frontends,
            server_name="bench.lpcfe.test",
            redis_port=self.redis.port,
            synapse_database=database,
        )
        self.topology.extra_synapse_config = {**raised_rate_limits(), "bcrypt_rounds": self.bcrypt_rounds}
        write(self.topology, self.root / "deploy")
        self.synapse = LocalSynapse(self.topology.synapse_config_dir, topology=self.topology)
        cleanup.callback(self.synapse.stop)
        logger.info(
            "Starting Synapse on PostgreSQL: main process, event persister and %d workers…", self.topology.workers
        )
        self.synapse.start(timeout=180)

    def facts(self, room_name: str) -> dict[str, Any]:
        """Counts from the database; BBB creates from the double's side (where it is mounted)."""
        found = self.front.probe("facts", room_name)
        if self.bbb is not None:
            found.update({k: v for k, v in self.bbb.probe("facts", room_name).items() if k.startswith("bbb_")})
        return found
