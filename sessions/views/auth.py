"""Login with email + regcode, guests, "email me my code again", profile and the guest-mode switch.

`login_or_guest_required` protects pages that need a logged-in person or a guest.
"""

import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.contrib.auth import login as auth_login
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from sessions import agenda, directory, guests, regcode_mail, throttle
from sessions.auth_forms import GuestForm, LoginForm, ResendCodeForm
from sessions.emails import email_candidates
from sessions.people import GUEST_SESSION_KEY, viewer_for
from sessions.timezones import zone_name

logger = logging.getLogger(__name__)

GUEST_LOGINS_PER_10_MINUTES = 20  # per client address: each one may ask the directory about a name


def login_or_guest_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Send people with neither a login nor a guest session to the login page, then back here."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if viewer_for(request).role == "anonymous":
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if safe and not candidate.startswith(resolve_url("login")):  # never back to the login page itself
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _login_page(
    request: HttpRequest, form: LoginForm, guest_form: GuestForm | None = None, status: int = 200
) -> HttpResponse:
    guest_mode = guests.is_on()
    context = {
        "form": form,
        "guest_mode": guest_mode,
        "guest_form": (guest_form or GuestForm(auto_id="guest_%s")) if guest_mode else None,
        "next": _next_url(request),
    }
    return render(request, "sessions/login.html", context, status=status)


@sensitive_post_parameters("regcode")
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(_next_url(request))
    if request.method == "GET":
        return _login_page(request, LoginForm())

    form = LoginForm(request.POST)
    if not form.is_valid():
        return _login_page(request, form)
    email, code = form.cleaned_data["email"], form.cleaned_data["regcode"]
    ip = throttle.client_ip(request)

    wait = throttle.login_wait(email, ip)
    if wait:
        logger.info("Login for %s from %s refused: throttled for %d s", email, ip, wait.seconds)
        form.add_error(None, wait.message)
        return _login_page(request, form, status=429)
    try:
        user = authenticate(request, email=email, password=code)
    except directory.DirectoryUnavailable as error:
        logger.warning("Login for %s could not be checked: %s", email, error.detail)
        form.add_error(None, error.message)
        return _login_page(request, form, status=503)
    if user is None:
        logger.info("Login for %s from %s refused: wrong code or unknown address", email, ip)
        wait = throttle.record_failure(email, ip)
        message = _("That email address and registration code do not match.")
        if wait:
            message += " " + _("Please wait %(when)s before trying again.") % {
                "when": throttle.describe_wait(wait.seconds)
            }
        form.add_error(None, message)
        return _login_page(request, form)
    if not user.is_active:
        form.add_error(None, _("Your login has been disabled by the organisers."))
        return _login_page(request, form)

    throttle.record_success(email, user.get_username())
    auth_login(request, user)
    request.session.pop(GUEST_SESSION_KEY, None)
    logger.info("%s logged in", user.get_username())
    return HttpResponseRedirect(_next_url(request))


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    was_guest = bool(request.session.get(GUEST_SESSION_KEY))
    logout(request)  # flushes the session: ends a login and a guest session alike
    messages.info(request, _("You have left the guest session.") if was_guest else _("You have logged out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


@never_cache
@require_POST
def guest_login(request: HttpRequest) -> HttpResponse:
    if not guests.is_on():
        messages.error(request, _("Guest access is not open at the moment."))
        return redirect("login")
    wait = throttle.hit("guest-ip", throttle.client_ip(request), GUEST_LOGINS_PER_10_MINUTES, 600)
    if wait:
        messages.error(
            request,
            _("Too many guest logins from your network. Please try again in %(when)s.")
            % {"when": throttle.describe_wait(wait)},
        )
        return redirect("login")
    form = GuestForm(request.POST, auto_id="guest_%s")
    if not form.is_valid():
        return _login_page(request, LoginForm(), guest_form=form)
    if request.user.is_authenticated:
        logout(request)
    display = guests.start_session(request, form.cleaned_data["name"])
    messages.success(request, _("Welcome, %(name)s. Guests may join the public rooms.") % {"name": display})
    return HttpResponseRedirect(_next_url(request))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def resend_code(request: HttpRequest) -> HttpResponse:
    form = ResendCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        wait = None
        for address in email_candidates(email):  # a +tag counts for the person it falls back to, too
            wait = wait or throttle.hit("resend-email", address, settings.LOGIN_RESEND_PER_HOUR, 3600)
        wait = wait or throttle.hit("resend-ip", throttle.client_ip(request), settings.LOGIN_RESEND_IP_PER_HOUR, 3600)
        if wait:
            form.add_error(
                None,
                _(
                    "A code was asked for recently. Please check your mailbox (and spam folder), "
                    "or try again in %(when)s."
                )
                % {"when": throttle.describe_wait(wait)},
            )
            return render(request, "sessions/resend_code.html", {"form": form}, status=429)
        try:
            regcode_mail.send_code_again(email)
        except directory.DirectoryUnavailable as error:
            logger.warning("Code request for %s could not be checked: %s", email, error.detail)
            form.add_error(None, error.message)
            return render(request, "sessions/resend_code.html", {"form": form}, status=503)
        # The same answer whether or not the address is registered.
        messages.success(
            request,
            _(
                "If %(email)s is registered, its code is on the way to the address it was "
                "registered with. It may take a few minutes."
            )
            % {"email": email},
        )
        return redirect("login")
    return render(request, "sessions/resend_code.html", {"form": form})


@never_cache
@login_or_guest_required
def profile(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request)
    context = {
        "viewer": viewer,
        "session_expires": request.session.get_expiry_date(),
        "guest_mode": guests.is_on() if viewer.is_organiser else None,
        "speaking": agenda.speaker_sessions(viewer, timezone.now()),
        "viewer_zone_name": zone_name(request.viewer_zone),
    }
    return render(request, "sessions/profile.html", context)


@require_POST
def guest_mode(request: HttpRequest) -> HttpResponse:
    """Organisers switch guest mode on or off (the form is sessions/_guest_mode_form.html)."""
    viewer = viewer_for(request)
    if not viewer.is_organiser:
        raise PermissionDenied(_("Only organisers can switch guest mode."))
    enabled = request.POST.get("enabled") == "1"
    guests.set_mode(enabled, changed_by=viewer.email or "")
    if enabled:
        messages.success(request, _("Guest mode is on: guests can join the public rooms."))
    else:
        messages.success(request, _("Guest mode is off: guest sessions end at their next page."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = resolve_url("profile")
    return HttpResponseRedirect(target)
