"""Organisers publish or unpublish a session's recordings on BBB (publishRecordings)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sessions import recordings
from sessions.bbb import BBBError
from sessions.models import Talk
from sessions.people import viewer_for


@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    """POST record_id and publish=1|0 (CSRF-checked like every POST); back to the session page."""
    if not viewer_for(request).is_organiser:
        raise PermissionDenied
    talk = get_object_or_404(Talk.objects.select_related("room"), pk=pk)
    public = request.POST.get("publish") == "1"
    try:
        recordings.set_published(talk, request.POST.getlist("record_id"), public)
    except BBBError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The recording is published.") if public else _("The recording is unpublished."))
    return HttpResponseRedirect(reverse("talk", args=[talk.pk]))
