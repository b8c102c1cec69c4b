"""HTML abstracts to plain text, at import time.

Schedules from pretalx, Indico and pentabarf (FOSDEM since 2010 at least; every abstract of
FOSDEM 2026) carry HTML in their abstracts. lpcfe stores abstracts as plain text, converted
once here, because the same text goes to the session pages, /api/schedule.json (read by other
sites), the iCalendar feeds and chat topics, and none of them may receive markup from a source
lpcfe does not control. Pages escape it like any other text, so nothing in a source is ever
trusted as HTML, and no page shows tags as text. Paragraphs, line breaks and list items survive
as line breaks; a link keeps its address in brackets when that is http(s).

Only text that contains an HTML element is converted: a plain abstract that mentions
`<stdio.h>` or `a < b` stays as written.
"""

import re
from html.parser import HTMLParser

_ELEMENT = re.compile(
    r"</?(?:p|br|div|span|a|ul|ol|li|em|strong|b|i|u|s|code|pre|h[1-6]|blockquote|hr|img|table|thead|tbody|"
    r"tr|td|th|abbr|sup|sub|small|del|ins|dl|dt|dd|figure|figcaption|section|article|script|style|iframe)"
    r"(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)
_BLOCKS = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "pre", "blockquote", "table", "tr", "dl",
    "section", "article", "figure", "hr",
}  # fmt: skip
_HIDDEN = {"script", "style", "iframe", "object", "embed", "template", "noscript", "head", "title", "svg", "math"}
_PARAGRAPH = "\x00"  # a paragraph break, resolved once all text is in


def abstract_text(value: str) -> str:
    """`value` as plain text if it is HTML; unchanged otherwise."""
    if not _ELEMENT.search(value):
        return value
    parser = _TextParser()
    parser.feed(value)
    parser.close()
    return parser.text()


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0
        self.pre = 0
        self.links: list[tuple[str, int]] = []  # (href, position in out) of open <a> elements

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.out.append(_PARAGRAPH)
            self.pre += tag == "pre"
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n• ")
        elif tag in ("dt", "dd", "tr"):
            self.out.append("\n")
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.out)))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt and not self.hidden:
                self.out.append(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HIDDEN:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.out.append(_PARAGRAPH)
            self.pre = max(0, self.pre - (tag == "pre"))
        elif tag == "a" and self.links:
            href, at = self.links.pop()
            label = "".join(self.out[at:]).strip()
            if href.startswith(("http://", "https://")) and href.rstrip("/") != label.rstrip("/"):
                self.out.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))

    def text(self) -> str:
        text = "".join(self.out)
        paragraphs = []
        for chunk in text.split(_PARAGRAPH):
            lines = [line.strip() for line in chunk.split("\n")]
            chunk = "\n".join(line for line in lines if line)
            if chunk:
                paragraphs.append(chunk)
        return "\n\n".join(paragraphs)
