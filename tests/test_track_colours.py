"""Track colours, pale or dark, never make text hard to read: every track name and every line of
a session box keeps at least 4.5:1 against what is behind it, in light and dark mode."""

import pytest
from django.urls import reverse

from sessions.models import Track
from tests import factories
from tests.importing import BUNDLED, run_import

CONTRAST = """(selector) => {
  function parse(text) {
    let m = text.match(/^rgba?\\(([\\d.]+),\\s*([\\d.]+),\\s*([\\d.]+)(?:,\\s*([\\d.]+))?\\)/);
    if (m) return [m[1] / 255, m[2] / 255, m[3] / 255, m[4] === undefined ? 1 : Number(m[4])];
    m = text.match(/^color\\(srgb ([\\d.e-]+) ([\\d.e-]+) ([\\d.e-]+)(?: \\/ ([\\d.]+))?\\)/);
    if (m) return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
    throw new Error("unknown colour " + text);
  }
  function lum(c) {
    const [r, g, b] = c.slice(0, 3).map(v => v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  function background(node) {
    for (; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c[3] > 0.5) return c;
    }
    return parse(getComputedStyle(document.body).backgroundColor);
  }
  function ratio(x, y) {
    const a = lum(x), b = lum(y);
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }
  const text = [...document.querySelectorAll(selector)].filter(e => e.offsetParent && e.textContent.trim()).map(
    e => [e.textContent.trim().slice(0, 40), ratio(parse(getComputedStyle(e).color), background(e))]);
  // The colour itself must show (3:1, as for any control): a chip by its fill or its edge, a box by its stripe.
  const coloured = [...document.querySelectorAll(".track-chip, .slot:not(.break), .page-head")];
  const marks = coloured.filter(e => e.offsetParent).map(e => {
    const style = getComputedStyle(e), outside = background(e.parentElement);
    const edge = parse(e.classList.contains("track-chip") ? style.borderTopColor : style.borderLeftColor);
    const fill = e.classList.contains("track-chip") ? ratio(parse(style.backgroundColor), outside) : 0;
    return [e.textContent.trim().slice(0, 40), Math.max(ratio(edge, outside), fill)];
  });
  return [text, marks];
}"""
TEXT = ".track-chip, .slot .when, .slot .when time, .slot-title a, .slot .speakers, .slot .meta, .eyebrow"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_track_names_and_session_text_keep_4_5_to_1(new_page, live_server, scheme):
    code, _, err = run_import(str(BUNDLED))
    assert code == 0, err
    Track.objects.filter(name="Kernel Summit").update(colour="#1f6feb")  # a dark colour too
    page = new_page(timezone_id="Europe/Dublin", color_scheme=scheme)
    factories.browser_login(page, live_server, "ada@example.org", "ADA-7cq3-93kd")
    paths = [reverse("schedule_day", args=["2026-10-23"]), reverse("schedule_day", args=["2026-10-24"]) + "?view=list"]
    paths += [reverse("track", args=[t.slug]) for t in Track.objects.all()[:6]]
    checked = 0
    for path in paths:
        page.goto(live_server.url + path)
        text, marks = page.evaluate(CONTRAST, TEXT)
        for words, ratio in text:
            assert ratio >= 4.5, (scheme, path, words, round(ratio, 2))
        for words, ratio in marks:
            assert ratio >= 3, ("track colour not visible", scheme, path, words, round(ratio, 2))
        checked += len(text) + len(marks)
    assert checked > 100
