"""Start-up checks (`manage.py check`, runserver, migrate): a broken BBB setup is reported at
once, naming the file and line, instead of at the first click on Join."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from sessions import bbb


@register("lpcfe")
def bbb_configuration(app_configs, **kwargs) -> list:
    problems = []
    if settings.BBB_SERVERS_FILE:
        try:
            bbb.file_servers()
        except bbb.BBBError as error:
            problems.append(Error(error.message, hint="Fix the servers file (host:secret per line).", id="lpcfe.E001"))
    if settings.BBB_SIMULATOR and not settings.DEBUG:
        problems.append(
            Warning(
                "No BBB_URL or BBB_SERVERS_FILE is set: the labelled BBB simulator stands in for BigBlueButton.",
                hint="Set BBB_URL and BBB_SECRET (or BBB_SERVERS_FILE) before the event.",
                id="lpcfe.W001",
            )
        )
    return problems
