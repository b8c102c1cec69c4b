"""Email address → Matrix user ID, following the Matrix specification's suggested mapping.

The specification (appendices, "User Identifiers", "Mapping from other character sets")
suggests: encode as UTF-8, lower-case A-Z, and write every byte outside the allowed
characters, and `=` itself, as `=` followed by two hex digits. We apply it to the
normalised address (trimmed, Unicode NFC, lower case — the same normalisation login uses),
so `Ann.Lee+lpc@Example.ORG` becomes `@ann.lee=2blpc=40example.org:<server>`.

Stricter than the minimum, on purpose (the mapping stays injective, because `=` is escaped):
- `+` and `/` are escaped although recent versions of the grammar allow them: `+` was added
  only in Matrix 1.8 and older clients and servers refuse it; `/` breaks admin API paths
  and matrix.to links in naive clients.
- A leading `_` is escaped (`=5f`): Synapse refuses localparts that start with `_`.
- The whole user ID must fit 255 bytes. A longer one is cut at an escape boundary and
  ends in `==` plus 20 hex digits of the SHA-256 of the address. `==` never occurs in an
  uncut mapping (every `=` there starts a two-hex-digit escape), so a cut ID can never
  equal an uncut one.

docs/matrix.md has the examples; tests/test_matrix_ids.py pins them.
"""

import hashlib
import string
from dataclasses import dataclass

from sessions.emails import normalise_email

MAX_USER_ID_BYTES = 255
_ALLOWED = frozenset((string.ascii_lowercase + string.digits + "._-").encode())
_HASH_HEX = 20
_CUT_MARK = "=="


class MatrixIdError(ValueError):
    """The address cannot be turned into a Matrix user ID."""


def _escaped_chunks(text: str) -> list[str]:
    """One chunk per character: itself when allowed, else `=xx` for each of its UTF-8 bytes."""
    chunks = []
    for i, char in enumerate(text):
        raw = char.encode("utf-8")
        if len(raw) == 1 and raw[0] in _ALLOWED and not (i == 0 and char == "_"):
            chunks.append(char)
        else:
            chunks.append("".join(f"={byte:02x}" for byte in raw))
    return chunks


def max_localpart_bytes(server_name: str) -> int:
    # "@" + localpart + ":" + server name
    return MAX_USER_ID_BYTES - 2 - len(server_name.encode("utf-8"))


def email_localpart(email: str, server_name: str) -> str:
    """The Matrix localpart for an email address (see the module docstring for the rule)."""
    address = normalise_email(email)
    if address.count("@") < 1 or address.startswith("@") or address.endswith("@"):
        raise MatrixIdError(f"{email!r} is not an email address (it needs text on both sides of an @).")
    chunks = _escaped_chunks(address)
    localpart = "".join(chunks)
    limit = max_localpart_bytes(server_name)
    if limit < len(_CUT_MARK) + _HASH_HEX + 1:
        raise MatrixIdError(f"The server name {server_name!r} is too long to leave room for user IDs.")
    if len(localpart) <= limit:
        return localpart
    # Cut between characters, never inside one's escapes, so the kept part still reads back.
    keep = limit - len(_CUT_MARK) - _HASH_HEX
    head = ""
    for chunk in chunks:
        if len(head) + len(chunk) > keep:
            break
        head += chunk
    digest = hashlib.sha256(address.encode("utf-8")).hexdigest()[:_HASH_HEX]
    return f"{head}{_CUT_MARK}{digest}"


def email_to_user_id(email: str, server_name: str) -> str:
    return f"@{email_localpart(email, server_name)}:{server_name}"


def is_shortened(user_id: str) -> bool:
    return _CUT_MARK in user_id


def user_id_to_email(user_id: str) -> str | None:
    """Undo the mapping for IDs that were not shortened; None for anything else."""
    if not user_id.startswith("@") or ":" not in user_id or is_shortened(user_id):
        return None
    localpart = user_id[1 : user_id.index(":")]
    raw = bytearray()
    i = 0
    while i < len(localpart):
        char = localpart[i]
        if char == "=":
            pair = localpart[i + 1 : i + 3]
            if len(pair) != 2 or any(c not in "0123456789abcdef" for c in pair):
                return None
            raw.append(int(pair, 16))
            i += 3
        else:
            raw.append(ord(char))
            i += 1
    try:
        address = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return address if "@" in address else None


@dataclass(frozen=True)
class Collision:
    user_id: str
    emails: tuple[str, ...]  # as given, before normalisation

    def describe(self) -> str:
        return f"{', '.join(self.emails)} all map to {self.user_id}"


def find_collisions(emails: list[str], server_name: str) -> list[Collision]:
    """Addresses that would share one Matrix ID. Same normalised address = one person
    listed twice (case or spacing differs); different addresses = a shortened-ID clash."""
    by_id: dict[str, list[str]] = {}
    for email in emails:
        try:
            user_id = email_to_user_id(email, server_name)
        except MatrixIdError:
            continue
        by_id.setdefault(user_id, []).append(email)
    return [
        Collision(user_id, tuple(sorted(set(found)))) for user_id, found in sorted(by_id.items()) if len(set(found)) > 1
    ]
