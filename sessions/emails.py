"""Email addresses as people type them and files carry them: one normalisation and one check
for every place that reads an address (login, code requests, imports, chat provisioning).

Internationalised addresses (RFC 6531) are accepted: the local part may hold any non-ASCII
letter, mark, digit, punctuation or symbol (`josé@…`, `zoë@…`, `用户@…`), the domain may be
an internationalised name. Addresses are compared trimmed, in Unicode NFC (the composed form,
so an `é` typed as `e` + combining accent is the same address) and lower case.
"""

import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email as validate_ascii_email
from django.utils.translation import gettext_lazy as _


def normalise_email(raw: str) -> str:
    """The form every lookup and every stored address uses: trimmed, NFC, lower case."""
    return unicodedata.normalize("NFC", raw.strip()).lower()


def email_candidates(email: str) -> list[str]:
    """Addresses to look up, in order: as typed, then without a `+tag` in the local part."""
    email = normalise_email(email)
    local, at, domain = email.rpartition("@")
    candidates = [email]
    if at and "+" in local:
        base = local.split("+", 1)[0]
        if base:
            candidates.append(f"{base}@{domain}")
    return candidates


def validate_email(address: str) -> None:
    """Raise ValidationError unless `address` is a valid (possibly internationalised) address."""
    local, at, domain = address.rpartition("@")
    if at and not local.isascii():
        # RFC 6531 adds every non-ASCII character to the atoms of a local part; control,
        # format and separator characters (spaces, bidi overrides) are refused, as in ASCII.
        if any(unicodedata.category(ch)[0] in "CZ" for ch in local if not ch.isascii()):
            raise ValidationError(_("Enter a valid email address."), code="invalid")
        local = "".join(ch if ch.isascii() else "a" for ch in local)  # the ASCII rules check the rest
    validate_ascii_email(f"{local}{at}{domain}")


class EmailAddressField(forms.EmailField):
    """An email form field that accepts internationalised addresses and returns them normalised.

    A text input with the email keyboard, not `type=email`: browsers refuse non-ASCII local
    parts in email inputs before the form is even sent.
    """

    widget = forms.TextInput
    default_validators = [validate_email]

    def widget_attrs(self, widget: forms.Widget) -> dict:
        attrs = super().widget_attrs(widget)
        attrs.update({"inputmode": "email", "autocomplete": "email", "autocapitalize": "none", "spellcheck": "false"})
        return attrs

    def to_python(self, value: object) -> str:
        return normalise_email(super().to_python(value))
