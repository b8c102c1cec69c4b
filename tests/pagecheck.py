"""Checks run on pages in the browser tests: the Content-Security-Policy a response carries, the
policy violations a page reports, and axe-core's accessibility findings."""

from pathlib import Path

AXE = Path(__file__).parent / "js" / "node_modules" / "axe-core" / "axe.min.js"


def csp_directives(response) -> dict[str, str]:
    """The Content-Security-Policy header of a Django test response or a Playwright response, by directive."""
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        name, _, sources = part.strip().partition(" ")
        if name:
            assert name not in directives, f"{name} appears twice in {header!r}"
            directives[name] = sources.strip()
    return directives
