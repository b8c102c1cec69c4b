"""manage.py post_notices: post conference notices that have not reached every chat yet."""

from django.core.management.base import BaseCommand, CommandError

from console import notices


class Command(BaseCommand):
    help = "Post today's conference notices (schedule changes, announcements) to the chats that missed them."

    def handle(self, *args, **options) -> None:
        posted, failed = notices.post()
        self.stdout.write(f"{posted} notice(s) posted, {failed} still failing.")
        if failed:
            raise CommandError("Some notices could not be posted; the console lists why.")
