"""The Content-Security-Policy (lpcfe/csp.py): every page carries a strict one, and no page breaks it.

The browser test walks every page type as each persona in headless Chromium and collects every
violation the pages report (securitypolicyviolation events in every frame, and Chromium's console
messages, which also carry the frame-ancestors refusals no event reports).
"""

import pytest
from django.test import Client
from django.urls import reverse

from tests import factories
from tests.pagecheck import PERSONAS, build_world, csp_directives, logged_in_context, tour

pytestmark = [pytest.mark.browser, pytest.mark.matrix, pytest.mark.django_db(transaction=True)]

REPORT = """document.addEventListener("securitypolicyviolation", (e) => {
    const where = `${e.sourceFile}:${e.lineNumber}`;
    window.__lpcfeCspViolation(`${e.effectiveDirective} refused ${e.blockedURI || "inline"} at ${where} ${e.sample}`);
});"""


def watch(context) -> list[str]:
    """Violations reported in any page or frame of `context` from now on."""
    found: list[str] = []
    context.expose_binding("__lpcfeCspViolation", lambda source, text: found.append(f"{source['frame'].url}: {text}"))
    context.add_init_script(REPORT)

    def console(message) -> None:
        if "Content Security Policy" in message.text:
            found.append(f"console: {message.text}")

    context.on("console", console)
    return found


def assert_strict(response, label: str) -> dict[str, str]:
    policy = csp_directives(response)
    assert policy.get("default-src") == "'none'", f"{label}: {policy}"
    assert policy.get("script-src") == "'self'", f"{label}: {policy}"
    assert policy["style-src"] == "'self'", f"{label}: {policy}"
    assert "unsafe" not in policy["style-src"] + policy.get("style-src-elem", ""), f"{label}: {policy}"
    assert policy.get("base-uri") == "'none'", f"{label}: {policy}"
    assert policy.get("object-src", "'none'") == "'none'", f"{label}: {policy}"
    return policy


class Visit:
    """One persona's walk: the policy of every document loaded (in any frame, redirects too) is
    strict, and each page's own policy is kept by label."""

    def __init__(self, page, persona: str) -> None:
        self.persona = persona
        self.policies: dict[str, dict[str, str]] = {}
        self.documents: list = []
        page.on("response", lambda r: self.documents.append(r) if r.request.is_navigation_request() else None)

    def check(self, page, label: str) -> None:
        page.wait_for_load_state("load")
        for frame in page.frames:
            frame.wait_for_load_state("load")
        main = [r for r in self.documents if r.frame == page.main_frame]
        if main:  # else only a frame navigated (leaving the meeting)
            self.policies[label] = assert_strict(main[-1], f"{self.persona} {label}")
        for response in self.documents:
            assert_strict(response, f"{self.persona} {label} ({response.url})")
        self.documents.clear()


def test_every_page_has_a_strict_policy_and_no_page_breaks_it(
    browser, live_server, synapse, matrix_settings, bbb_double, settings
):
    settings.BBB_TIMEOUT = 30  # the simulator answers from this test's own busy live server
    world = build_world(live_server, synapse)
    pages_seen = 0
    for persona in ("anonymous", *PERSONAS):
        context = logged_in_context(browser, world, persona)
        violations = watch(context)
        page = context.new_page()
        visit = Visit(page, persona)
        seen = tour(page, world, persona, visit.check)
        page.wait_for_timeout(300)  # let late reports (frames, styles) arrive
        assert violations == [], f"{persona}: {violations}"
        pages_seen += len(seen)
        policies = visit.policies
        if persona != "anonymous":
            # This site (the chat) and the simulator at SITE_URL, nothing else.
            assert policies["room with meeting and chat"]["frame-src"] == f"'self' {live_server.url}"
            assert policies["chat"]["frame-ancestors"] == "'self'"
            assert policies["now"]["frame-ancestors"] == "'none'"
            assert policies["now"]["style-src-attr"] == "'unsafe-inline'"  # positions and track colours
            assert "style-src-attr" not in policies["status"]
            assert "frame-src" not in policies["now"]
        else:
            assert policies["login"]["form-action"] == f"'self' {live_server.url}"  # the simulator's site
            assert "style-src-attr" not in policies["login"]
        context.close()
    assert pages_seen == 4 + 4 * 18 + 4  # anonymous 4, each persona 18, the admin for organisers


def test_the_policy_refuses_what_it_should_in_the_browser(browser, live_server, new_page):
    """The collector sees a refusal, and the page really is protected: a script added to the page
    (as an injection would) does not run, and a foreign frame does not load."""
    factories.conference()
    page = new_page()
    violations = watch(page.context)
    page.goto(live_server.url + reverse("login"))
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.__ran = 1";
            document.body.append(s);
            const style = document.createElement("style");
            style.textContent = "body { background: red }";
            document.head.append(style);
        }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.__ran") is None
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") != "rgb(255, 0, 0)"
    assert any("script-src-elem refused inline" in v for v in violations), violations
    assert any("style-src-elem refused inline" in v for v in violations), violations


def test_the_room_page_frames_exactly_the_configured_bbb_servers(settings, tmp_path, db):
    factories.conference()
    room = factories.room("hall-a", "Hall A")
    user = factories.person("ada@example.org")
    client = Client()
    client.force_login(user)
    settings.BBB_SIMULATOR = False
    settings.SITE_URL = "https://conf.example.org"
    settings.BBB_URL = "https://scalelite.example.org/bigbluebutton/"
    settings.BBB_SECRET = "s" * 20
    servers = tmp_path / "servers"
    servers.write_text("bbb1.example.org:secret1\nbbb2.example.org:secret2\n")
    settings.BBB_SERVERS_FILE = str(servers)
    settings.BBB_FRAME_ORIGINS = ["https://bbb9.example.org"]
    policy = csp_directives(client.get(reverse("room", args=[room.slug])))
    expected = "'self' https://scalelite.example.org https://bbb1.example.org https://bbb2.example.org https://bbb9.example.org"
    assert policy["frame-src"] == expected
    # A join may redirect straight to BBB (BBB_JOIN_MODE=redirect): forms may go there too.
    assert policy["form-action"] == expected
    assert policy["frame-ancestors"] == "'none'"
    assert "frame-src" not in csp_directives(client.get(reverse("profile")))  # falls back to default-src 'none'

    # Only BBB_URL: only that server.
    settings.BBB_SERVERS_FILE = ""
    settings.BBB_FRAME_ORIGINS = []
    policy = csp_directives(client.get(reverse("room", args=[room.slug])))
    assert policy["frame-src"] == "'self' https://scalelite.example.org"
    # The chat page may be framed by the same servers, and by nothing else.
    chat = client.get(reverse("chat:room", args=[room.slug]))
    assert "X-Frame-Options" not in chat
    assert csp_directives(chat)["frame-ancestors"] == "'self' https://scalelite.example.org"


def test_debug_error_pages_keep_their_inline_script_and_everything_else_its_policy(settings, db):
    """With DEBUG (the demo), Django's technical 404 and 500 pages use inline style and script."""
    factories.conference()
    settings.DEBUG = True
    assert "Content-Security-Policy" not in Client().get("/no-such-page/")
    assert csp_directives(Client().get(reverse("login")))["script-src"] == "'self'"
    settings.DEBUG = False
    assert csp_directives(Client().get("/no-such-page/"))["script-src"] == "'self'"
