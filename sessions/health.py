"""Is each outside service reachable? For the organisers' status page.

Each probe has its service's timeout and ends in a ServiceStatus; results are cached briefly
so several organisers refreshing the page do not multiply the probes.
"""

import logging
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from sessions import bbb, meetings

logger = logging.getLogger(__name__)

PROBE_SECONDS = 15
OK, DOWN, NOT_CONFIGURED, SIMULATED = "ok", "down", "not_configured", "simulated"


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str  # ok, down, not_configured or simulated
    detail: str


def _cached(key: str, probe) -> ServiceStatus:
    found = cache.get(key)
    if found is None:
        found = probe()
        cache.set(key, found, PROBE_SECONDS)
    return found


def ldap_status() -> ServiceStatus:
    name = _("LDAP directory")
    if not settings.LDAP_URI:
        return ServiceStatus(
            name, NOT_CONFIGURED, _("LDAP_URI is empty: logins are checked against the local attendee table.")
        )
    return _cached("lpcfe:health:ldap", lambda: _probe_ldap(name))


def _probe_ldap(name: str) -> ServiceStatus:
    import ldap

    try:
        connection = ldap.initialize(settings.LDAP_URI)
        connection.set_option(ldap.OPT_NETWORK_TIMEOUT, settings.LDAP_TIMEOUT)
        connection.set_option(ldap.OPT_TIMEOUT, settings.LDAP_TIMEOUT)
        connection.set_option(ldap.OPT_REFERRALS, 0)
        if settings.LDAP_START_TLS:
            connection.start_tls_s()
        connection.simple_bind_s(settings.LDAP_BIND_DN, settings.LDAP_BIND_PASSWORD)
        connection.unbind_s()
    except ldap.LDAPError as exc:
        info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        detail = info.get("desc") or type(exc).__name__
        if info.get("info"):
            detail += f" ({info['info']})"
        return ServiceStatus(name, DOWN, _("%(uri)s: %(error)s") % {"uri": settings.LDAP_URI, "error": detail})
    return ServiceStatus(name, OK, _("%(uri)s answers and accepts lpcfe's bind.") % {"uri": settings.LDAP_URI})


def matrix_status() -> ServiceStatus:
    name = _("Matrix homeserver")
    if not settings.MATRIX_URL:
        return ServiceStatus(name, NOT_CONFIGURED, _("MATRIX_URL is empty: the chat panels cannot connect."))
    return _cached("lpcfe:health:matrix", lambda: _probe_matrix(name))


def _probe_matrix(name: str) -> ServiceStatus:
    url = settings.MATRIX_URL.rstrip("/") + "/_matrix/client/versions"
    try:
        response = requests.get(url, timeout=settings.MATRIX_TIMEOUT)
        response.raise_for_status()
        versions = response.json().get("versions") or []
    except requests.RequestException as exc:
        return ServiceStatus(name, DOWN, _("%(url)s: %(error)s") % {"url": settings.MATRIX_URL, "error": exc})
    except ValueError:
        return ServiceStatus(
            name, DOWN, _("%(url)s does not answer like a Matrix homeserver.") % {"url": settings.MATRIX_URL}
        )
    latest = versions[-1] if versions else "?"
    return ServiceStatus(
        name, OK, _("%(url)s answers (client API up to %(version)s).") % {"url": settings.MATRIX_URL, "version": latest}
    )


@dataclass(frozen=True)
class BBBServerStatus:
    server: bbb.Server | None
    status: ServiceStatus
    meetings: tuple[bbb.MeetingInfo, ...]


def bbb_statuses() -> list[BBBServerStatus]:
    """Every configured BBB endpoint, with its meetings (getMeetings, cached briefly)."""
    try:
        servers = bbb.all_servers()
    except bbb.BBBError as error:
        return [BBBServerStatus(None, ServiceStatus(_("BigBlueButton"), DOWN, error.message), ())]
    found = []
    for server in servers:
        label = _("BigBlueButton %(server)s") % {"server": server.name}
        try:
            listed = tuple(meetings.server_meetings(server))
        except bbb.BBBError as error:
            found.append(BBBServerStatus(server, ServiceStatus(label, DOWN, error.message), ()))
            continue
        if settings.BBB_SIMULATOR:
            state, detail = SIMULATED, _("The local BBB simulator stands in (BBB_URL is not set): no real meetings.")
        else:
            state, detail = OK, _("%(url)s answers signed calls.") % {"url": server.api_url}
        found.append(BBBServerStatus(server, ServiceStatus(label, state, detail), listed))
    return found
