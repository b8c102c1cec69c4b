"""Accessibility: axe-core (pinned in tests/js/package-lock.json, installed by `bin/setup --dev`) on
every page type, as each persona, at desktop and phone width; and a keyboard-only walk from the login
form to a message in a room's chat."""

import json

import pytest

from tests.pagecheck import AXE, PERSONAS, PHONE, build_world, logged_in_context, tour

pytestmark = [pytest.mark.browser, pytest.mark.matrix, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}
BLOCKING = ("serious", "critical")


def axe_findings(page) -> list[str]:
    """axe-core's serious and critical violations in the page and each of its frames."""
    findings = []
    for frame in page.frames:
        if not frame.url.startswith("http"):
            continue
        if not frame.evaluate("() => typeof window.axe === 'object'"):
            frame.add_script_tag(path=str(AXE))
        result = frame.evaluate(
            """async () => {
                const r = await axe.run(document, {iframes: false, resultTypes: ["violations"]});
                return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map((n) => n.target.join(" ") + " " + n.failureSummary.replace(/\\s+/g, " "))}));
            }"""
        )
        for violation in result:
            if violation["impact"] in BLOCKING:
                findings.append(f"{frame.url}: {violation['id']} ({violation['impact']}): {violation['help']}")
                findings += [f"    {node}" for node in violation["nodes"][:5]]
    return findings


def test_axe_finds_nothing_serious_on_any_page_as_anyone_at_any_width(
    browser, live_server, synapse, matrix_settings, bbb_double
):
    assert AXE.exists(), "axe-core is missing: run bin/setup --dev (npm ci in tests/js)"
    world = build_world(live_server, synapse)
    problems: list[str] = []
    checked = 0
    for persona in ("anonymous", *PERSONAS):
        # axe is added to each page as a script element, which the site's policy would refuse.
        context = logged_in_context(browser, world, persona, viewport=DESKTOP, bypass_csp=True)
        page = context.new_page()

        def check(page, label: str, persona: str = persona) -> None:
            nonlocal checked
            page.wait_for_load_state("load")
            for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                page.set_viewport_size(viewport)
                problems.extend(f"{persona}, {label}, {width}: {line}" for line in axe_findings(page))
                checked += 1
            page.set_viewport_size(DESKTOP)

        tour(page, world, persona, check)
        context.close()
    assert problems == [], "\n" + "\n".join(problems)
    assert checked == 2 * (4 + 4 * 18 + 1)


def test_axe_is_the_pinned_version():
    lock = json.loads((AXE.parents[2] / "package-lock.json").read_text())
    installed = json.loads((AXE.parent / "package.json").read_text())["version"]
    assert installed == lock["packages"]["node_modules/axe-core"]["version"]
