"""lpcfe's BBB client plugin as a meeting is created with it: the manifest's address and checksum.

bbb-web fetches the manifest from `url` when the meeting is created and refuses the plugin when
the SHA-256 of what it fetched differs from `checksum`. The manifest names the bundle by its
content hash, so the checksum pins the exact code the BBB client loads.
"""

import hashlib
from pathlib import Path

from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.utils.translation import gettext as _

from sessions.bbb import BBBConfigError

MANIFEST = "bbb-plugin/manifest.json"


def manifest_entry(site_url: str) -> dict[str, str]:
    """The `pluginManifests` entry for lpcfe's chat plugin, served from our static files."""
    path = finders.find(MANIFEST)
    if not path:
        raise BBBConfigError(_("BBB_CHAT_PLUGIN is on but the plugin is not built: run bin/build-plugin first."))
    checksum = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return {"url": site_url.rstrip("/") + static(MANIFEST), "checksum": checksum}
