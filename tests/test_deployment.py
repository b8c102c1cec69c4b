"""The organiser's deployment: `python -m lpcfe.deployment` writes nginx, gunicorn, systemd and
Synapse files that the real tools accept (nginx -t with the nchan module, systemd-analyze verify,
Synapse's own config loader), with the Matrix routes the workers topology needs and the live chat
(nchan locations, the application service registration, the front end's LIVE_* settings)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lpcfe.deployment import Topology, main, write

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
needs_nginx = pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is installed by bin/setup --dev")


def organiser_topology(tmp_path: Path, workers: int = 3, **extra) -> Topology:
    """A production-shaped topology whose folders are under tmp_path (the checkout is this one)."""
    return Topology(
        site_host="conf.example.org",
        matrix_host="matrix.example.org",
        server_name="example.org",
        workers=workers,
        cores=2,
        app_dir=ROOT,
        config_dir=tmp_path / "out" / "lpcfe",
        synapse_config_dir=tmp_path / "out" / "synapse",
        synapse_data_dir=tmp_path / "data",
        log_dir=tmp_path / "log",
        tls_dir=tmp_path / "tls",
        **extra,
    )


def self_signed(tls_dir: Path, *hosts: str) -> None:
    for host in hosts:
        (tls_dir / host).mkdir(parents=True)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={host}"]
            + ["-keyout", str(tls_dir / host / "privkey.pem"), "-out", str(tls_dir / host / "fullchain.pem")],
            check=True,
            capture_output=True,
            timeout=60,
        )


def nginx_check(site: Path, run: Path, topology: Topology) -> subprocess.CompletedProcess:
    from lpcfe.deployment import nginx_main

    run.mkdir(parents=True, exist_ok=True)
    conf = run / "nginx.conf"
    conf.write_text(nginx_main(topology, site, run))
    return subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=60)


def env_settings(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def test_the_command_writes_every_file_and_keeps_secrets_when_run_again(tmp_path, capsys):
    out = tmp_path / "deploy"
    argv = ["--out", str(out), "--site-host", "conf.example.org", "--matrix-host", "matrix.example.org"]
    argv += ["--server-name", "example.org", "--workers", "4", "--cores", "8"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    for name in (
        "nginx/lpcfe.conf",
        "lpcfe/gunicorn.conf.py",
        "lpcfe/lpcfe.env",
        "systemd/lpcfe.service",
        "systemd/lpcfe-import-schedule.timer",
        "systemd/matrix-synapse.service",
        "systemd/matrix-synapse-worker4.service",
        "systemd/matrix-synapse-persister1.service",
        "synapse/homeserver.yaml",
        "synapse/workers/worker4.yaml",
        "synapse/lpcfe-live.yaml",
    ):
        assert (out / name).is_file() and str(out / name) in printed
    assert not (out / "synapse/workers/worker5.yaml").exists()
    gunicorn = (out / "lpcfe/gunicorn.conf.py").read_text()
    assert "workers = 17" in gunicorn and "max_requests_jitter" in gunicorn and "keepalive" in gunicorn
    secret = (out / "synapse/secrets/macaroon_secret_key").read_text()
    env = (out / "lpcfe/lpcfe.env").read_text()
    assert (out / "synapse/secrets/macaroon_secret_key").stat().st_mode & 0o077 == 0
    assert (out / "lpcfe/lpcfe.env").stat().st_mode & 0o077 == 0
    assert (out / "synapse/lpcfe-live.yaml").stat().st_mode & 0o077 == 0
    registration = yaml.safe_load((out / "synapse/lpcfe-live.yaml").read_text())
    assert "CACHE_URL=redis://127.0.0.1:6379/1" in env and "MATRIX_URL=http://127.0.0.1:8008" in env
    # Generating again (say with more workers) keeps the secrets and the organiser's edited settings.
    (out / "lpcfe/lpcfe.env").write_text(env + "LDAP_URI=ldaps://ldap.example.org\n")
    assert main([*argv[:-4], "--workers", "6"]) == 0
    assert (out / "synapse/secrets/macaroon_secret_key").read_text() == secret
    assert yaml.safe_load((out / "synapse/lpcfe-live.yaml").read_text()) == registration
    assert "LDAP_URI=ldaps://ldap.example.org" in (out / "lpcfe/lpcfe.env").read_text()
    assert (out / "synapse/workers/worker6.yaml").exists()


def test_bad_options_are_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", "x", "--site-host", "a", "--matrix-host", "b", "--server-name", "c", "--workers", "0"])
    assert exit_info.value.code == 2 and "--workers" in capsys.readouterr().err


def test_matrix_routes_send_each_kind_of_request_where_synapse_wants_it(tmp_path):
    topology = organiser_topology(tmp_path)
    write(topology, tmp_path / "out")
    site = (tmp_path / "out/nginx/lpcfe.conf").read_text()
    upstream = {m[1]: m[2] for m in re.finditer(r"upstream (\w+) \{\n(.*?)\n\}", site, re.S)}  # name -> body
    # Syncs: sticky per user, hashed on the user part of the access token (header or query).
    assert "hash $mx_user consistent" in upstream["synapse_sync"]
    assert '"~^Bearer syt_(?<user>[^_]+)_" $user;' in site
    assert upstream["synapse_sync"].count("server 127.0.0.1:81") == 3
    # One room's /messages always to one worker; sends to any; the rest to the main process.
    assert "hash $mx_room consistent" in upstream["synapse_room"]
    assert "least_conn" in upstream["synapse_any"]
    assert "server 127.0.0.1:8008;" in upstream["synapse_main"]

    def route(path: str) -> str:
        """The upstream nginx picks for `path`: regex locations in order, else the longest prefix."""
        matrix_server = site[site.index("server_name matrix.example.org") :]
        blocks = re.findall(r"location (\^~ |~ )?(\S+) \{\n(.*?)\n    \}", matrix_server, re.S)
        for kind, match, body in blocks:
            if kind == "^~ " and path.startswith(match):
                return body
        for kind, match, body in blocks:
            if kind == "~ " and re.search(match.replace("(?<", "(?P<"), path):
                return body
        prefixes = [(m, b) for k, m, b in blocks if not k and path.startswith(m)]
        return max(prefixes, key=lambda mb: len(mb[0]))[1]

    assert "synapse_sync" in route("/_matrix/client/v3/sync")
    assert "proxy_read_timeout 120s" in route("/_matrix/client/v3/sync")
    assert "synapse_sync" in route("/_matrix/client/r0/events")
    assert "synapse_room" in route("/_matrix/client/v3/rooms/!abc:example.org/messages")
    assert "synapse_any" in route("/_matrix/client/v3/rooms/!abc:example.org/send/m.room.message/t1")
    assert "synapse_writer" in route("/_matrix/client/v3/rooms/!abc:example.org/typing/@a:example.org")
    assert "synapse_main" in route("/_matrix/client/v3/login")
    assert "return 404" in route("/_synapse/admin/v1/users/@a:example.org/login")


def test_synapse_accepts_the_main_and_every_worker_configuration(tmp_path):
    from synapse.config.homeserver import HomeServerConfig

    topology = organiser_topology(tmp_path, workers=2)
    write(topology, tmp_path / "out")
    shared = str(tmp_path / "out/synapse/homeserver.yaml")
    main_config = HomeServerConfig.load_config("lpcfe", ["-c", shared])
    assert set(main_config.worker.instance_map) == {"main", "persister1", "worker1", "worker2"}
    assert main_config.worker.writers.events == ["persister1"]
    assert main_config.redis.redis_enabled
    # The conference settings docs/matrix.md recommends.
    assert not main_config.server.presence_enabled
    assert not main_config.push.enable_push
    assert not main_config.userdirectory.user_directory_search_enabled
    assert not main_config.worker.should_update_user_directory and not main_config.worker.send_federation
    assert not main_config.registration.enable_registration
    raw = yaml.safe_load(Path(shared).read_text())
    assert "macaroon_secret_key" not in raw and "worker_replication_secret" not in raw  # only their *_path
    for name in ("persister1", "worker1", "worker2"):
        worker = HomeServerConfig.load_config(
            "lpcfe", ["-c", shared, "-c", str(tmp_path / f"out/synapse/workers/{name}.yaml")]
        )
        assert worker.worker.worker_app == "synapse.app.generic_worker" and worker.worker.worker_name == name


def test_systemd_accepts_every_unit(tmp_path):
    verify = shutil.which("systemd-analyze")
    if not verify:
        pytest.skip("systemd-analyze is not installed")
    topology = organiser_topology(tmp_path)
    write(topology, tmp_path / "out")
    units = sorted((tmp_path / "out/systemd").iterdir())
    assert {u.name for u in units} >= {"lpcfe.service", "lpcfe-import-schedule.service", "matrix-synapse.target"}
    result = subprocess.run([verify, "verify", *map(str, units)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    front = (tmp_path / "out/systemd/lpcfe.service").read_text()
    assert f"ExecStart={sys.executable}" in front or f"ExecStart={ROOT}/.venv/bin/python" in front
    # A unit that names a program which is not there is refused: the check can fail.
    broken = tmp_path / "broken.service"
    broken.write_text(front.replace(str(ROOT), str(tmp_path / "missing")))
    assert subprocess.run([verify, "verify", str(broken)], capture_output=True, timeout=60).returncode != 0


@needs_nginx
def test_nginx_accepts_the_site_with_tls_and_the_live_chat(tmp_path):
    topology = organiser_topology(tmp_path, site_listen=18443, matrix_listen=18443, internal_listen=18081)
    self_signed(tmp_path / "tls", "conf.example.org", "matrix.example.org")
    write(topology, tmp_path / "out")
    result = nginx_check(tmp_path / "out/nginx/lpcfe.conf", tmp_path / "run", topology)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    site = (tmp_path / "out/nginx/lpcfe.conf").read_text()
    assert f"alias {ROOT}/staticfiles/;" in site and "return 301 https://$host$request_uri;" in site
    # nchan's directives are known only with its module loaded (Debian: libnginx-mod-nchan).
    conf = tmp_path / "run/nginx.conf"
    conf.write_text(conf.read_text().replace("load_module", "# load_module"))
    without = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=60)
    assert without.returncode != 0 and "nchan" in without.stderr


@needs_nginx
def test_nginx_refuses_a_broken_site(tmp_path):
    topology = organiser_topology(tmp_path, tls=False)
    write(topology, tmp_path / "out")
    site = tmp_path / "out/nginx/lpcfe.conf"
    site.write_text(site.read_text().replace("hash $mx_user consistent;", "hash $mx_user constant;"))
    assert nginx_check(site, tmp_path / "run", topology).returncode != 0


def test_the_generated_settings_pass_djangos_deployment_checklist(tmp_path):
    """The front end's env file, with the BBB settings an organiser adds, starts clean under
    `manage.py check --deploy` (production settings, TLS behind nginx, Redis cache)."""
    from tests.test_deploy_check import production_env, run_manage

    write(organiser_topology(tmp_path), tmp_path / "out")
    generated = env_settings(tmp_path / "out/lpcfe/lpcfe.env")
    assert generated["BEHIND_TLS_PROXY"] == "1" and generated["SITE_URL"] == "https://conf.example.org"
    assert len(generated["SECRET_KEY"]) >= 50
    env = production_env(LPCFE_DATA_DIR=str(tmp_path / "data"))
    env.update(generated)
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_live_chat_is_part_of_the_generated_deployment(tmp_path):
    """The front end's settings and Synapse's registration share the application service's tokens;
    Synapse pushes to the loopback server, which hands the pushes to the front end and takes its
    publishes; browsers subscribe on the site, each subscription asked of the front end."""
    topology = organiser_topology(tmp_path)
    write(topology, tmp_path / "out")
    env = env_settings(tmp_path / "out/lpcfe/lpcfe.env")
    registration = yaml.safe_load((tmp_path / "out/synapse/lpcfe-live.yaml").read_text())
    assert (env["MATRIX_APPSERVICE_HS_TOKEN"], env["MATRIX_APPSERVICE_AS_TOKEN"]) == (
        registration["hs_token"],
        registration["as_token"],
    )
    assert len(registration["hs_token"]) >= 40 and registration["hs_token"] != registration["as_token"]
    assert env["MATRIX_APPSERVICE_BOT"] == registration["sender_localpart"] == "lpcfe-live"
    assert env["LIVE_SUBSCRIBE_PATH"] == "/live/"
    assert env["LIVE_PUBLISH_URL"] == "http://127.0.0.1:8081/pub" and registration["url"] == "http://127.0.0.1:8081"

    site = (tmp_path / "out/nginx/lpcfe.conf").read_text()
    servers = {re.search(r"server_name ([^;]+);", b)[1]: b for b in site.split("\n\nserver {")[1:]}
    public, internal, matrix = servers["conf.example.org"], servers["127.0.0.1"], servers["matrix.example.org"]
    assert "listen 127.0.0.1:8081;" in internal and "listen 443 ssl" in public
    assert "nchan_publisher" in internal and "nchan_publisher" not in public + matrix
    assert "nchan_subscriber eventsource;" in public and "nchan_authorize_request /_lpcfe_live_authorize;" in public
    assert "proxy_pass http://lpcfe_app/chat/live/authorize/;" in public
    assert "proxy_set_header Host conf.example.org;" in internal  # the pushes pass Django's ALLOWED_HOSTS
    assert re.search(r"location \^~ /_matrix/app/ \{\n\s+return 404;", public)  # pushes on loopback only
    redis = re.search(r"upstream lpcfe_live_redis \{\n(.*?)\n\}", site, re.S)[1]
    assert redis.strip() == "nchan_redis_server redis://127.0.0.1:6379;"
    assert site.count("nchan_redis_pass lpcfe_live_redis;") == 2  # subscribers and publisher: one store


def test_every_synapse_process_loads_the_application_service(tmp_path):
    from synapse.config.appservice import load_appservices
    from synapse.config.homeserver import HomeServerConfig

    write(organiser_topology(tmp_path, workers=2), tmp_path / "out")
    shared = str(tmp_path / "out/synapse/homeserver.yaml")
    env = env_settings(tmp_path / "out/lpcfe/lpcfe.env")
    for worker in (None, "persister1", "worker1", "worker2"):
        args = ["-c", shared] + (["-c", str(tmp_path / f"out/synapse/workers/{worker}.yaml")] if worker else [])
        config = HomeServerConfig.load_config("lpcfe", args)
        [service] = load_appservices(config.server.server_name, config.appservice.app_service_config_files)
        assert (
            service.hs_token == env["MATRIX_APPSERVICE_HS_TOKEN"] and service.token == env["MATRIX_APPSERVICE_AS_TOKEN"]
        )
        assert service.is_exclusive_user("@lpcfe-live:example.org") and service.url == "http://127.0.0.1:8081"
        # Only the main process sends the transactions (Synapse's default).
        assert config.worker.should_notify_appservices == (worker is None)


@pytest.mark.django_db
def test_pushes_over_loopback_http_are_not_redirected_to_https(settings):
    from django.test import Client

    settings.SECURE_SSL_REDIRECT = True
    settings.MATRIX_APPSERVICE_HS_TOKEN, settings.MATRIX_APPSERVICE_AS_TOKEN = "hs", "as"
    client = Client()
    assert client.put("/_matrix/app/v1/transactions/t1").status_code == 401  # answered, not redirected
    assert client.get("/login/").status_code == 301
