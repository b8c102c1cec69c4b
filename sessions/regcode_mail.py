"""Mailing a person their registration code again, from the copy sealed at import.

Above both the directory (which finds the person and opens the sealed copy) and accounts: the
directory uses accounts, so this cannot live in accounts without an import cycle.
"""

import logging
import smtplib

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from sessions import directory
from sessions.models import Conference

logger = logging.getLogger(__name__)


def send_code_again(email: str) -> None:
    """Mail the regcode registered for `email` to the address it was registered with, if there is one.

    Does nothing visible when the address is unknown, so callers answer the same either way.
    Raises DirectoryUnavailable when the directory cannot be asked.
    """
    person = directory.find_person(email)
    if person is None:
        logger.info("Code requested for an unregistered address")
        return
    code = directory.sealed_code_for(person.email)
    if code is None:
        logger.warning("No stored copy of the code for %s: it was not imported with import_attendees", person.email)
        return
    if not directory.code_is_current(person.email, code):
        logger.warning("The stored code for %s no longer opens its entry; re-run the import", person.email)
        return
    context = {
        "person": person,
        "code": code,
        "login_url": settings.SITE_URL + reverse("login"),
        "conference": Conference.current(),
    }
    subject = " ".join(render_to_string("sessions/email/code_again_subject.txt", context).split())
    body = render_to_string("sessions/email/code_again_body.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [person.email])
    except (OSError, smtplib.SMTPException) as error:
        logger.error("Could not send the code to %s: %s", person.email, type(error).__name__)
        return
    logger.info("Sent the registration code again to %s", person.email)
