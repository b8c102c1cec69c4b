"""The attendee directory: who may log in, with which regcode, name and role.

Two implementations behind one interface, chosen by LDAP_URI:

- LDAP (django-auth-ldap against e.g. OpenLDAP): the person is found by email with the service
  bind (LDAP_BIND_DN), and the regcode is checked by binding as that entry, so the directory
  keeps the regcode hashed in `userPassword` and enforces its own policies.
- The local attendee table (`Attendee`), for the demo and events without a directory.

Settings are read from django.conf.settings at call time. Every network call has a timeout
(LDAP_TIMEOUT); every failure to reach the directory becomes DirectoryUnavailable, whose
message is safe to show. A regcode is never logged.

Email matching (the same for both): surrounding whitespace is ignored and case does not
matter. An address with a `+tag` is first looked up as typed; only if there is no such entry
is it looked up again without the tag (see docs/attendees.md for why).
"""

import base64
import contextlib
import hashlib
import hmac
import logging
import secrets
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import ldap
import ldap.dn
import ldap.filter
import ldap.schema
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_auth_ldap.backend import LDAPBackend, ldap_error
from django_auth_ldap.config import LDAPSearch, LDAPSettings
from ldap.cidict import cidict
from ldap.controls import SimplePagedResultsControl

from sessions import accounts
from sessions.emails import email_candidates, normalise_email
from sessions.models import Attendee, SealedRegcode
from sessions.people import ROLES

logger = logging.getLogger(__name__)

# LDAP syntaxes whose values are ASCII only: IA5 String and Printable String (RFC 4517).
IA5_SYNTAXES = {"1.3.6.1.4.1.1466.115.121.1.26", "1.3.6.1.4.1.1466.115.121.1.44"}
REGCODE_MAX = 128  # longer input is not a regcode; refusing it keeps hashing cheap


class DirectoryUnavailable(Exception):
    """The directory could not be asked (down, timed out, misconfigured). `message` is for people."""

    message = _("We cannot check your code right now, please try again in a few minutes.")

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Person:
    email: str  # as registered, lower case
    first_name: str
    last_name: str
    role: str

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


def ldap_configured() -> bool:
    return bool(settings.LDAP_URI)


def parse_role(value: str) -> str | None:
    """A role name from a directory value or an import file; None if it is not one."""
    value = value.strip().lower()
    if value in ("organizer", "organizers", "organisers"):
        value = "organiser"
    elif value.endswith("s") and value[:-1] in ROLES:
        value = value[:-1]
    return value if value in ROLES else None


# --- Regcode hashing --------------------------------------------------------------------------


class RegcodeHasher(PBKDF2PasswordHasher):
    """Salted PBKDF2-SHA256 with a deliberately low work factor for the local table.

    Regcodes are random codes issued by the registration system, not passwords people chose
    and reuse, so the hash guards against a leaked table being usable as-is rather than
    against dictionary attacks. 1,000 rounds take about 0.5 ms: 5,000 imports take seconds,
    500 logins in five minutes cost a fraction of a CPU second, and each guess against a
    stolen hash still costs a thousand SHA-256 rounds. See docs/attendees.md.
    """

    algorithm = "regcode_pbkdf2_sha256"
    iterations = 1000


_hasher = RegcodeHasher()
_DUMMY_HASH = _hasher.encode("not-a-regcode", "lpcfedummysalt00")


def hash_regcode(code: str) -> str:
    return _hasher.encode(code, _hasher.salt())


def regcode_matches(code: str, encoded: str) -> bool:
    return _hasher.verify(code, encoded)


_LDAP_SCHEMES = {"ssha": ("{SSHA}", hashlib.sha1), "ssha256": ("{SSHA256}", hashlib.sha256)}
_LDAP_SCHEMES["ssha512"] = ("{SSHA512}", hashlib.sha512)


def ldap_password_hash(code: str, scheme: str | None = None) -> str:
    """A salted userPassword value slapd verifies itself ({SSHA} by default, LDAP_PASSWORD_SCHEME)."""
    prefix, digest = _LDAP_SCHEMES[scheme or settings.LDAP_PASSWORD_SCHEME]
    salt = secrets.token_bytes(8)
    return prefix + base64.b64encode(digest(code.encode() + salt).digest() + salt).decode()


def ldap_password_matches(code: str, stored: str) -> bool | None:
    """Whether `stored` (a userPassword value) is the hash of `code`; None if the scheme is not one we read."""
    digests = {"{SSHA}": hashlib.sha1, "{SHA}": hashlib.sha1, "{SSHA256}": hashlib.sha256}
    digests |= {"{SHA256}": hashlib.sha256, "{SSHA512}": hashlib.sha512, "{SHA512}": hashlib.sha512}
    if not stored.startswith("{"):
        return hmac.compare_digest(stored.encode(), code.encode())
    prefix, _sep, rest = stored.partition("}")
    digest = digests.get(prefix.upper() + "}")
    if digest is None:
        return None
    try:
        raw = base64.b64decode(rest, validate=True)
    except ValueError:
        return False
    size = digest().digest_size
    hashed, salt = raw[:size], raw[size:]
    return hmac.compare_digest(digest(code.encode() + salt).digest(), hashed)


# --- Sealed copies for "email me my code again" ------------------------------------------------


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    fernets = []
    for secret in keys:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"lpcfe regcode copies")
        fernets.append(Fernet(base64.urlsafe_b64encode(hkdf.derive(secret.encode()))))
    return MultiFernet(fernets)


def seal(code: str) -> str:
    return _fernet().encrypt(code.encode()).decode()


def unseal(sealed: str) -> str | None:
    """The code, or None if it was sealed with a key we no longer have."""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


# --- LDAP plumbing -----------------------------------------------------------------------------


def _connection_options() -> dict:
    timeout = settings.LDAP_TIMEOUT
    options = {
        ldap.OPT_NETWORK_TIMEOUT: timeout,  # connecting
        ldap.OPT_TIMEOUT: timeout,  # every synchronous operation
        ldap.OPT_REFERRALS: 0,
        ldap.OPT_PROTOCOL_VERSION: ldap.VERSION3,
    }
    # Always verify the server's certificate, whatever the system's ldap.conf says.
    options[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
    if settings.LDAP_CA_FILE:
        options[ldap.OPT_X_TLS_CACERTFILE] = settings.LDAP_CA_FILE
    options[ldap.OPT_X_TLS_NEWCTX] = 0  # must come last: applies the TLS options above
    return options


def _describe(error: ldap.LDAPError) -> str:
    info = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    text = info.get("desc") or type(error).__name__
    if info.get("info"):
        text += f" ({info['info']})"
    return f"{settings.LDAP_URI}: {text}"


def _open() -> "ldap.ldapobject.LDAPObject":
    """An unbound connection with timeouts, and StartTLS done if configured."""
    conn = ldap.initialize(settings.LDAP_URI, bytes_mode=False)
    for option, value in _connection_options().items():
        conn.set_option(option, value)
    if settings.LDAP_START_TLS:
        conn.start_tls_s()
    return conn


def connect(bind_dn: str, password: str) -> "ldap.ldapobject.LDAPObject":
    """A connection bound as `bind_dn` (anonymous if empty), with timeouts and StartTLS as configured."""
    try:
        conn = _open()
        conn.simple_bind_s(bind_dn, password)
    except ldap.INVALID_CREDENTIALS:
        raise DirectoryUnavailable(f"{settings.LDAP_URI}: the directory refused the bind as {bind_dn!r}") from None
    except ldap.LDAPError as error:
        raise DirectoryUnavailable(_describe(error)) from None
    return conn


def _attr(attrs: dict, name: str) -> str:
    values = attrs.get(name) or []
    value = values[0] if values else ""
    return value.decode() if isinstance(value, bytes) else value


def _role_from_values(values: list) -> set[str]:
    roles = set()
    for value in values:
        role = parse_role(value.decode() if isinstance(value, bytes) else value)
        if role:
            roles.add(role)
    return roles


def _ldap_find(conn, email: str) -> tuple[str, dict] | None:
    """The entry for `email` following the +tag rule, or None. More than one match is treated as none."""
    attrs = [settings.LDAP_EMAIL_ATTR, settings.LDAP_FIRST_NAME_ATTR, settings.LDAP_LAST_NAME_ATTR, "cn"]
    if settings.LDAP_ROLE_ATTR:
        attrs.append(settings.LDAP_ROLE_ATTR)
    for candidate in email_candidates(email):
        query = settings.LDAP_USER_FILTER % {"user": ldap.filter.escape_filter_chars(candidate)}
        try:
            found = [r for r in conn.search_s(settings.LDAP_USER_BASE, ldap.SCOPE_SUBTREE, query, attrs) if r[0]]
        except ldap.NO_SUCH_OBJECT:
            raise DirectoryUnavailable(f"LDAP_USER_BASE {settings.LDAP_USER_BASE!r} does not exist") from None
        if len(found) == 1:
            return found[0][0], cidict(found[0][1])
        if len(found) > 1:
            logger.warning("%d directory entries have the address %s; refusing to guess", len(found), candidate)
            return None
    return None


def _guarded(func):
    """Turns LDAP errors into DirectoryUnavailable."""

    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ldap.LDAPError as error:
            raise DirectoryUnavailable(_describe(error)) from None

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


# --- Lookups used outside login ----------------------------------------------------------------


@_guarded
def find_person(email: str) -> Person | None:
    """The registered person for an address (following the +tag rule), without checking a code."""
    if not ldap_configured():
        for candidate in email_candidates(email):
            attendee = Attendee.objects.filter(email=candidate).first()
            if attendee:
                return Person(attendee.email, attendee.first_name, attendee.last_name, attendee.role)
        return None
    conn = connect(settings.LDAP_BIND_DN, settings.LDAP_BIND_PASSWORD)
    try:
        found = _ldap_find(conn, email)
        if found is None:
            return None
        return _person_from_entry(lambda: conn, *found)
    finally:
        conn.unbind_s()


@_guarded
def all_people() -> list[Person]:
    """Everyone registered: the local table, or every entry under LDAP_USER_BASE (read in pages)."""
    if not ldap_configured():
        return [Person(a.email, a.first_name, a.last_name, a.role) for a in Attendee.objects.all()]
    from ldap.controls import SimplePagedResultsControl

    attrs = [settings.LDAP_EMAIL_ATTR, settings.LDAP_FIRST_NAME_ATTR, settings.LDAP_LAST_NAME_ATTR, "cn"]
    if settings.LDAP_ROLE_ATTR:
        attrs.append(settings.LDAP_ROLE_ATTR)
    query = settings.LDAP_USER_FILTER % {"user": "*"}  # "(mail=*)": every entry with an address
    conn = connect(settings.LDAP_BIND_DN, settings.LDAP_BIND_PASSWORD)
    people: list[Person] = []
    try:
        page = SimplePagedResultsControl(True, size=500, cookie="")
        while True:
            msgid = conn.search_ext(settings.LDAP_USER_BASE, ldap.SCOPE_SUBTREE, query, attrs, serverctrls=[page])
            try:
                _type, entries, _msgid, controls = conn.result3(msgid)
            except ldap.SIZELIMIT_EXCEEDED:
                # OpenLDAP caps a paged search's total at the size limit (500 by default) unless told otherwise.
                raise DirectoryUnavailable(
                    f"the directory stopped listing attendees after {len(people)} entries (a size limit for "
                    f"{settings.LDAP_BIND_DN or 'anonymous binds'}). Allow that account to read every entry, "
                    f'in OpenLDAP: olcLimits: dn.exact="{settings.LDAP_BIND_DN}" size.prtotal=unlimited '
                    "(docs/ldap.md)."
                ) from None
            for dn, entry in entries:
                if dn and entry.get(settings.LDAP_EMAIL_ATTR):
                    people.append(_person_from_entry(lambda: conn, dn, cidict(entry)))
            cookies = [c.cookie for c in controls if c.controlType == SimplePagedResultsControl.controlType]
            if not cookies or not cookies[0]:
                return people
            page.cookie = cookies[0]
    finally:
        conn.unbind_s()


def _person_from_entry(connection: Callable, dn: str, attrs: dict) -> Person:
    """Name and role of an entry; `connection()` gives a service-bound connection, asked for only if groups are read."""
    email = normalise_email(_attr(attrs, settings.LDAP_EMAIL_ATTR))
    roles = _role_from_values(attrs.get(settings.LDAP_ROLE_ATTR, [])) if settings.LDAP_ROLE_ATTR else set()
    if settings.LDAP_GROUP_BASE:
        roles |= _ldap_group_roles(connection(), dn, email)
    return Person(
        email=email,
        first_name=_attr(attrs, settings.LDAP_FIRST_NAME_ATTR),
        last_name=_attr(attrs, settings.LDAP_LAST_NAME_ATTR),
        role=accounts.highest_role(roles),
    )


def _ldap_group_roles(conn, dn: str, email: str) -> set[str]:
    member = {"posixgroup": ("memberUid", email), "groupofuniquenames": ("uniqueMember", dn)}.get(
        settings.LDAP_GROUP_TYPE, ("member", dn)
    )
    query = f"(&{settings.LDAP_GROUP_FILTER}({member[0]}={ldap.filter.escape_filter_chars(member[1])}))"
    names = set()
    for group_dn, attrs in conn.search_s(settings.LDAP_GROUP_BASE, ldap.SCOPE_SUBTREE, query, ["cn"]):
        if group_dn:
            names |= {value.decode().lower() for value in attrs.get("cn", [])}
    return {role for role, group in settings.LDAP_ROLE_GROUPS.items() if group.lower() in names}


@_guarded
def code_is_current(email: str, code: str) -> bool:
    """Whether `code` still opens the entry registered as `email` (checked before mailing a sealed copy)."""
    if not code:
        return False
    if not ldap_configured():
        attendee = Attendee.objects.filter(email=normalise_email(email)).first()
        return bool(attendee and regcode_matches(code, attendee.regcode_hash))
    conn = connect(settings.LDAP_BIND_DN, settings.LDAP_BIND_PASSWORD)
    try:
        found = _ldap_find(conn, email)
        if found is None:
            return False
        try:
            conn.simple_bind_s(found[0], code)
        except ldap.INVALID_CREDENTIALS:
            return False
        return True
    finally:
        conn.unbind_s()


def sealed_code_for(email: str) -> str | None:
    copy = SealedRegcode.objects.filter(email=normalise_email(email)).first()
    if copy is None:
        return None
    code = unseal(copy.sealed)
    if code is None:
        logger.warning("The stored code copy for %s was sealed with another SECRET_KEY; re-run the import", email)
    return code


@_guarded
def name_is_registered(name: str) -> bool:
    """Whether `name` is the full name of a registered person (guests may not take it)."""
    from sessions.guests import comparable_name  # the one definition of "same name"

    wanted = comparable_name(name)
    if not wanted:
        return False
    for user in User.objects.only("first_name", "last_name").iterator():
        if comparable_name(f"{user.first_name} {user.last_name}") == wanted:
            return True
    if not ldap_configured():
        return any(comparable_name(a.full_name) == wanted for a in Attendee.objects.only("first_name", "last_name"))
    conn = connect(settings.LDAP_BIND_DN, settings.LDAP_BIND_PASSWORD)
    try:
        # cn is compared by the directory (case-insensitively); the Python check catches spacing variants.
        folded = " ".join(unicodedata.normalize("NFKC", name).split())  # full-width look-alikes too
        query = f"(&(objectClass=person)(cn={ldap.filter.escape_filter_chars(folded)}))"
        results = conn.search_s(settings.LDAP_USER_BASE, ldap.SCOPE_SUBTREE, query, ["cn"])
        return any(dn for dn, _attrs in results)
    finally:
        conn.unbind_s()


# --- Login backends ----------------------------------------------------------------------------


class _EmailSearch(LDAPSearch):
    """Finds one entry by email: as typed, then without its +tag (see email_candidates)."""

    def execute(self, connection, filterargs=(), escape=True):
        results = []
        for candidate in email_candidates(filterargs["user"]):
            results = super().execute(connection, {"user": candidate}, escape)
            if len(results) > 1:
                logger.warning("%d directory entries have the address %s; refusing to guess", len(results), candidate)
            if results:
                return results
        return results


def _raise_unavailable(sender, context, user, request, exception, **kwargs) -> None:
    raise DirectoryUnavailable(f"{context}: {_describe(exception)}")


class LDAPDirectoryBackend(LDAPBackend):
    """django-auth-ldap configured from our LDAP_* settings at call time.

    Answers only `authenticate(request, email=..., password=<regcode>)` (the login form), not the
    admin's username/password form, which is left to ModelBackend.
    """

    @property
    def settings(self) -> LDAPSettings:
        if self._settings is None:
            attrlist = [settings.LDAP_EMAIL_ATTR, settings.LDAP_FIRST_NAME_ATTR, settings.LDAP_LAST_NAME_ATTR]
            if settings.LDAP_ROLE_ATTR:
                attrlist.append(settings.LDAP_ROLE_ATTR)
            config = {
                "SERVER_URI": settings.LDAP_URI,
                "START_TLS": settings.LDAP_START_TLS,
                "BIND_DN": settings.LDAP_BIND_DN,
                "BIND_PASSWORD": settings.LDAP_BIND_PASSWORD,
                "CONNECTION_OPTIONS": _connection_options(),
                "USER_SEARCH": _EmailSearch(
                    settings.LDAP_USER_BASE, ldap.SCOPE_SUBTREE, settings.LDAP_USER_FILTER, attrlist
                ),
                "USER_ATTRLIST": attrlist,
                "CACHE_TIMEOUT": 0,  # never answer a login from a stale lookup
                "ALWAYS_UPDATE_USER": False,  # sync_user copies name and role (attribute and groups) after the bind
            }
            # A prefix no deployment uses: only LDAP_* settings configure this backend.
            self._settings = LDAPSettings("LPCFE_UNUSED_AUTH_LDAP_", config)
        return self._settings

    def authenticate(self, request: HttpRequest | None, email: str | None = None, password: str | None = None, **kw):
        if email is None or not password or len(password) > REGCODE_MAX:
            return None
        return super().authenticate(request, username=normalise_email(email), password=password)

    def authenticate_ldap_user(self, ldap_user, password: str) -> User | None:
        if ldap_user.dn is None:
            # Unknown address: do the same work as a wrong code (one bind) so timing tells nothing.
            try:
                ldap_user.connection.simple_bind_s(f"cn=no-such-attendee,{settings.LDAP_USER_BASE}", password)
            except ldap.INVALID_CREDENTIALS:
                pass
            except ldap.LDAPError as error:
                raise DirectoryUnavailable(_describe(error)) from None
            return None
        user = ldap_user.authenticate(password)
        if user is None:
            return None
        try:
            person = _person_from_entry(lambda: ldap_user.connection, ldap_user.dn, ldap_user.attrs or {})
        except ldap.LDAPError as error:
            raise DirectoryUnavailable(_describe(error)) from None
        return accounts.sync_user(person.email, person.first_name, person.last_name, person.role)

    def get_or_build_user(self, username: str, ldap_user):
        # The Django username is the address as registered, whatever variant was typed.
        registered = normalise_email(_attr(ldap_user.attrs or {}, settings.LDAP_EMAIL_ATTR)) or username
        return accounts.get_or_create_user(registered)

    def get_user(self, user_id):
        user = super().get_user(user_id)
        # A person an organiser deactivated loses their session at once, as with ModelBackend.
        return user if user is not None and user.is_active else None

    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user, obj=None):
        # Permissions come from Django groups (ModelBackend), never from a directory query per request.
        return set()


ldap_error.connect(_raise_unavailable, sender=LDAPDirectoryBackend, dispatch_uid="lpcfe-ldap-unavailable")


class LocalDirectoryBackend(ModelBackend):
    """Login against the local attendee table (no LDAP_URI)."""

    def authenticate(self, request: HttpRequest | None, email: str | None = None, password: str | None = None, **kw):
        if email is None or not password or len(password) > REGCODE_MAX:
            return None
        attendee = None
        for candidate in email_candidates(email):
            attendee = Attendee.objects.filter(email=candidate).first()
            if attendee:
                break
        if attendee is None:
            regcode_matches(password, _DUMMY_HASH)  # same hashing work as a wrong code
            return None
        if not regcode_matches(password, attendee.regcode_hash):
            return None
        return accounts.sync_user(attendee.email, attendee.first_name, attendee.last_name, attendee.role)


# --- Writing (the attendee import) -------------------------------------------------------------


@dataclass
class Entry:
    dn: str
    email: str
    first_name: str
    last_name: str
    role: str | None  # None: no role attribute configured or none set
    password: str  # stored userPassword value (hashed)


class DirectoryWriter:
    """Reads and writes attendee entries as LDAP_ADMIN_DN, keeping an undo log so a failed import
    can be rolled back (LDAP has no transactions)."""

    OBJECT_CLASSES = [b"top", b"person", b"organizationalPerson", b"inetOrgPerson"]

    def __init__(self) -> None:
        if not settings.LDAP_ADMIN_DN:
            raise DirectoryUnavailable("LDAP_ADMIN_DN is empty: the import needs a DN allowed to write entries")
        if not settings.LDAP_IMPORT_BASE:
            raise DirectoryUnavailable("LDAP_IMPORT_BASE (or LDAP_USER_BASE) is empty: name where entries go")
        self.base = settings.LDAP_IMPORT_BASE
        self.conn = connect(settings.LDAP_ADMIN_DN, settings.LDAP_ADMIN_PASSWORD)
        self._undo: list[tuple[str, str, object]] = []

    def close(self) -> None:
        with contextlib.suppress(ldap.LDAPError):
            self.conn.unbind_s()

    def entries(self) -> Iterator[Entry]:
        """Every person entry under the import base that has an email address (paged)."""
        try:
            yield from self._entries()
        except ldap.LDAPError as error:
            raise DirectoryUnavailable(_describe(error)) from None

    def _entries(self) -> Iterator[Entry]:
        a = settings
        attrs = [a.LDAP_EMAIL_ATTR, a.LDAP_FIRST_NAME_ATTR, a.LDAP_LAST_NAME_ATTR, "userPassword"]
        if a.LDAP_ROLE_ATTR:
            attrs.append(a.LDAP_ROLE_ATTR)
        query = f"(&(objectClass=inetOrgPerson)({a.LDAP_EMAIL_ATTR}=*))"
        control = SimplePagedResultsControl(True, size=500, cookie="")
        while True:
            try:
                msgid = self.conn.search_ext(self.base, ldap.SCOPE_SUBTREE, query, attrs, serverctrls=[control])
                _rtype, results, _msgid, controls = self.conn.result3(msgid)
            except ldap.NO_SUCH_OBJECT:
                raise DirectoryUnavailable(f"LDAP_IMPORT_BASE {self.base!r} does not exist") from None
            for dn, raw_entry in results:
                if not dn:
                    continue
                entry = cidict(raw_entry)
                roles = sorted(_role_from_values(entry.get(a.LDAP_ROLE_ATTR, []))) if a.LDAP_ROLE_ATTR else []
                for raw in entry.get(a.LDAP_EMAIL_ATTR, []):
                    yield Entry(
                        dn=dn,
                        email=normalise_email(raw.decode()),
                        first_name=_attr(entry, a.LDAP_FIRST_NAME_ATTR),
                        last_name=_attr(entry, a.LDAP_LAST_NAME_ATTR),
                        role=accounts.highest_role(roles) if roles else None,
                        password=_attr(entry, "userPassword"),
                    )
            cookie = next((c.cookie for c in controls if c.controlType == control.controlType), b"")
            if not cookie:
                return
            control.cookie = cookie

    @_guarded
    def email_attr_is_ascii_only(self) -> bool:
        """Whether the directory's schema gives the email attribute an ASCII-only syntax (the
        standard `mail` is an IA5String), so internationalised addresses cannot be stored."""
        subschema_dn = self.conn.search_subschemasubentry_s(self.base)
        if not subschema_dn:
            return False
        found = self.conn.read_subschemasubentry_s(subschema_dn, attrs=["attributeTypes"])
        schema = ldap.schema.SubSchema(found or {}, check_uniqueness=0)
        try:
            syntax = schema.get_inheritedattr(ldap.schema.AttributeType, settings.LDAP_EMAIL_ATTR, "syntax")
        except KeyError:  # not in the published schema: let the directory itself decide
            return False
        return syntax in IA5_SYNTAXES

    def code_opens(self, dn: str, code: str) -> bool:
        """For stored hashes we cannot read ourselves: ask the directory with a bind as the entry."""
        conn = None
        try:
            conn = _open()
            conn.simple_bind_s(dn, code)
            return True
        except ldap.INVALID_CREDENTIALS:
            return False
        except ldap.LDAPError as error:
            raise DirectoryUnavailable(_describe(error)) from None
        finally:
            if conn is not None:
                conn.unbind_s()

    def _person_attrs(self, first_name: str, last_name: str) -> dict[str, list[bytes]]:
        full = " ".join(part for part in (first_name, last_name) if part)
        return {
            "cn": [full.encode()],
            settings.LDAP_LAST_NAME_ATTR: [(last_name or first_name).encode()],  # sn is required
            settings.LDAP_FIRST_NAME_ATTR: [first_name.encode()] if first_name else [],
        }

    @_guarded
    def add(self, email: str, first_name: str, last_name: str, role: str, code: str) -> str:
        dn = f"{settings.LDAP_EMAIL_ATTR}={ldap.dn.escape_dn_chars(email)},{self.base}"
        attrs = {"objectClass": self.OBJECT_CLASSES, settings.LDAP_EMAIL_ATTR: [email.encode()]}
        attrs |= {k: v for k, v in self._person_attrs(first_name, last_name).items() if v}
        attrs["userPassword"] = [ldap_password_hash(code).encode()]
        if settings.LDAP_ROLE_ATTR:
            attrs[settings.LDAP_ROLE_ATTR] = [role.encode()]
        try:
            self.conn.add_s(dn, list(attrs.items()))
        except ldap.LDAPError as error:
            raise DirectoryUnavailable(f"{_describe(error)}, adding {dn}") from None
        self._undo.append(("delete", dn, None))
        return dn

    @_guarded
    def update(self, entry: Entry, first_name: str, last_name: str, role: str | None, code: str | None) -> None:
        """Replace what differs; `role`/`code` None leave those attributes as they are."""
        wanted = self._person_attrs(first_name, last_name)
        if role is not None and settings.LDAP_ROLE_ATTR:
            wanted[settings.LDAP_ROLE_ATTR] = [role.encode()]
        if code is not None:
            wanted["userPassword"] = [ldap_password_hash(code).encode()]
        names = list(wanted)
        before = self.conn.search_s(entry.dn, ldap.SCOPE_BASE, "(objectClass=*)", names)[0][1]
        changes = []
        for name, values in wanted.items():
            old = before.get(name, [])
            if values != old and (values or old):
                changes.append((ldap.MOD_REPLACE, name, values or None))
        if not changes:
            return
        try:
            self.conn.modify_s(entry.dn, changes)
        except ldap.LDAPError as error:
            raise DirectoryUnavailable(f"{_describe(error)}, changing {entry.dn}") from None
        undo = [(ldap.MOD_REPLACE, name, before.get(name) or None) for _op, name, _v in changes]
        self._undo.append(("modify", entry.dn, undo))

    def rollback(self) -> int:
        """Undo every write of this import, newest first; returns how many could not be undone."""
        failed = 0
        for action, dn, data in reversed(self._undo):
            try:
                if action == "delete":
                    self.conn.delete_s(dn)
                else:
                    self.conn.modify_s(dn, data)
            except ldap.LDAPError as error:
                failed += 1
                logger.error("Could not undo the import's change to %s: %s", dn, _describe(error))
        self._undo.clear()
        return failed
