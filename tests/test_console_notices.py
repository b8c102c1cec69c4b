"""Change notices against the real test Synapse: a chat that cannot be reached keeps the apply and
its notice pending; `manage.py post_notices` posts it later, as m.notice from the notice account."""

import io
import uuid

import pytest
from django.core.management import call_command
from django.urls import reverse

from chat_embed.matrix import MatrixClient
from chat_embed.models import MatrixRoom
from chat_embed.provisioning import Person, Provisioner, notice_bot_id
from console.models import NoticePost
from tests.chatkit import Homeserver
from tests.consolekit import Sources
from tests.test_console import MOVE, organiser, post_apply

pytestmark = pytest.mark.django_db


def test_notice_that_failed_is_posted_by_post_notices(
    tmp_path, settings, matrix_settings, django_capture_on_commit_callbacks
):
    settings.MATRIX_ROOM_ALIAS_PREFIX = f"n{uuid.uuid4().hex[:6]}-"
    sources = Sources(tmp_path)
    settings.SCHEDULE_SOURCE = str(sources.schedule)
    sources.import_()
    client = MatrixClient(matrix_settings.url, matrix_settings.admin_token)
    report = Provisioner(client, matrix_settings.server_name, lift_own_rate_limit=False).run(
        [Person("ada@example.org", "Ada", "attendee")]
    )
    assert not report.failures, report.failures

    good_url = settings.MATRIX_URL
    settings.MATRIX_URL = "http://127.0.0.1:9"  # the homeserver is down while the organiser applies
    original = sources.text("schedule")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_apply(organiser(), "schedule", original.replace(*MOVE), original).status_code == 302
    posts = list(NoticePost.objects.select_related("matrix_room"))
    assert posts and all(p.posted_at is None and "Cannot reach" in p.last_error for p in posts)
    assert {p.matrix_room for p in posts} >= {MatrixRoom.objects.get(track__slug="kernel-summit")}

    settings.MATRIX_URL = good_url
    out = io.StringIO()
    call_command("post_notices", stdout=out)
    assert f"{len(posts)} notice(s) posted, 0 still failing." in out.getvalue()
    hs = Homeserver(matrix_settings.url, matrix_settings.admin_token, matrix_settings.server_name)
    track_chat = MatrixRoom.objects.get(track__slug="kernel-summit")
    [event] = [
        e
        for e in hs.messages(hs.token(notice_bot_id(matrix_settings.server_name)), track_chat.room_id)
        if e["content"].get("msgtype") == "m.notice"
    ]
    assert event["sender"] == notice_bot_id(matrix_settings.server_name)
    assert event["content"]["body"].startswith("Conference notice: “Scheduler latency” moves from")
    assert NoticePost.objects.filter(posted_at__isnull=True).count() == 0
    page = organiser("org2@example.org").get(reverse("console:sources")).content.decode()
    assert 'data-testid="pending-posts"' not in page
