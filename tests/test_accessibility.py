"""Accessibility: axe-core (pinned in tests/js/package-lock.json, installed by `bin/setup --dev`) on
every page type, as each persona, at desktop and phone width; and a keyboard-only walk from the login
form to a message in a room's chat."""

import json

import pytest
from django.conf import settings

from tests import factories
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
    browser, live_server, synapse, matrix_settings, bbb_double, settings
):
    assert AXE.exists(), "axe-core is missing: run bin/setup --dev (npm ci in tests/js)"
    settings.BBB_TIMEOUT = 30  # the simulator answers from this test's own busy live server
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
    assert checked == 2 * (4 + 4 * 18 + 4)


def test_axe_is_the_pinned_version():
    lock = json.loads((AXE.parents[2] / "package-lock.json").read_text())
    installed = json.loads((AXE.parent / "package.json").read_text())["version"]
    assert installed == lock["packages"]["node_modules/axe-core"]["version"]


FOCUSED = """() => {
    let doc = document, el = doc.activeElement;
    while (el && el.tagName === "IFRAME" && el.contentDocument) { doc = el.contentDocument; el = doc.activeElement; }
    if (!el) return null;
    const style = el.ownerDocument.defaultView.getComputedStyle(el);
    const ring = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0 || style.boxShadow !== "none";
    return {tag: el.tagName, id: el.id, name: el.getAttribute("name"), text: (el.innerText || el.value || "").trim(),
            label: el.getAttribute("aria-label"), frame: doc === document ? "" : doc.location.pathname, ring};
}"""


def tab_to(page, wanted, limit: int = 60) -> dict:
    """Press Tab until the focused element (looking into frames) satisfies `wanted`; every stop on
    the way shows a focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        assert focused is not None
        assert focused["ring"] or focused["tag"] == "BODY", f"no visible focus on {focused}"  # BODY: Tab wrapped
        if wanted(focused):
            return focused
    raise AssertionError(f"{limit} presses of Tab did not reach the element; last: {focused}")


def test_keyboard_only_from_login_to_a_message_in_the_room_chat(
    browser, live_server, synapse, matrix_settings, bbb_double, settings
):
    email, code = "kim.keys@example.org", "KIM-4kd9-22xq"
    settings.BBB_TIMEOUT = 30  # the simulator answers from this test's own busy live server
    world = build_world(live_server, synapse, registered=((email, code),))
    context = logged_in_context(browser, world, "anonymous", viewport=DESKTOP)
    page = context.new_page()
    page.goto(world.url("now"))  # sent to the login form
    assert page.url.startswith(world.url("login"))

    tab_to(page, lambda f: f["name"] == "email")
    page.keyboard.type(email)
    tab_to(page, lambda f: f["name"] == "regcode")
    page.keyboard.type(code)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == world.url("now")

    tab_to(page, lambda f: f["tag"] == "BUTTON" and f["label"] == "Join Hall A")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == world.url("room", world.hall.slug)
    page.frame_locator("iframe.bbb-frame").get_by_test_id("you").wait_for()
    assert page.frame_locator("iframe.bbb-frame").get_by_test_id("you").inner_text() == "Kim Keys — VIEWER"
    chat = page.frame_locator("iframe.chat-frame")
    chat.locator('#chat[data-state="live"]').wait_for()

    focused = tab_to(page, lambda f: f["id"] == "chat-input")
    assert focused["frame"] == f"/chat/{world.hall.slug}/"
    page.keyboard.type("Hello from the keyboard")
    page.keyboard.press("Enter")
    sent = chat.locator("#chat-messages li.msg", has_text="Hello from the keyboard")
    sent.wait_for()
    assert sent.locator(".nick").inner_text() == "Kim Keys"
    assert chat.locator("#chat-input").input_value() == ""
    assert page.evaluate(FOCUSED)["id"] == "chat-input"  # ready for the next message
    context.close()


def test_organisers_can_stop_the_status_page_reloading_itself(browser, live_server, new_page):
    factories.conference()
    client = factories.client_for("olga@example.org", role="organiser")
    page = new_page()
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    page.goto(live_server.url + "/status/")
    assert page.locator("meta[http-equiv=refresh]").count() == 0  # WCAG 2.2.1: no reload the reader cannot stop
    toggle = page.get_by_role("button", name="Refresh every 30 seconds")
    assert toggle.get_attribute("aria-pressed") == "true"
    tab_to(page, lambda f: f["id"] == "auto-refresh")
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-pressed") == "false"
    page.reload()
    assert toggle.get_attribute("aria-pressed") == "false"  # kept for the tab
