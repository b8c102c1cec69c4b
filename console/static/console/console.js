// The organisers' console: line numbers beside the source text, and the importer's check as
// you type (and on "Check"), with each problem marked at its line. No editor bundle.
(function () {
  "use strict";
  const form = document.getElementById("editor-form");
  if (!form) return;
  const text = document.getElementById("source-text");
  const gutter = document.getElementById("gutter");
  const state = document.getElementById("check-state");
  const list = document.getElementById("problems");
  const overlaps = document.getElementById("allow-overlaps");
  const role = form.dataset.role;
  let bad = new Set();
  let timer = null;
  let running = null;

  function badLinesFromList() {
    bad = new Set();
    list.querySelectorAll("li[data-line]").forEach((li) => bad.add(Number(li.dataset.line)));
  }

  function drawGutter() {
    const count = text.value.split("\n").length;
    const frag = document.createDocumentFragment();
    for (let n = 1; n <= count; n++) {
      const span = document.createElement("span");
      span.textContent = String(n);
      if (bad.has(n)) span.className = "bad";
      frag.append(span, "\n");
    }
    gutter.replaceChildren(frag);
    gutter.scrollTop = text.scrollTop;
  }

  function goToLine(line) {
    const lines = text.value.split("\n");
    let at = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) at += lines[i].length + 1;
    text.focus();
    text.setSelectionRange(at, at + (lines[line - 1] || "").length);
  }

  function show(result) {
    list.replaceChildren();
    bad = new Set();
    for (const p of result.problems) {
      const li = document.createElement("li");
      li.className = p.warning ? "warning" : "error";
      if (p.role === role && p.line) {
        li.dataset.line = p.line;
        if (!p.warning) bad.add(p.line);
        const link = document.createElement("a");
        link.href = "#source-text";
        link.textContent = state.dataset.line.replace("{n}", p.line);
        link.addEventListener("click", (e) => { e.preventDefault(); goToLine(p.line); });
        li.append(link, ": " + (p.warning ? state.dataset.warning + " " : "") + p.message);
      } else {
        li.textContent = p.text;
      }
      list.append(li);
    }
    state.textContent = result.ok ? state.dataset.ok : state.dataset.bad;
    state.className = "check-state " + (result.ok ? "ok" : "bad");
    form.dataset.checked = result.ok ? "ok" : "bad";
    drawGutter();
  }

  async function check() {
    if (running) running.abort();
    running = new AbortController();
    const body = new FormData();
    body.append("text_" + role, text.value);
    if (overlaps.checked) body.append("allow_overlaps", "1");
    try {
      const response = await fetch(form.dataset.checkUrl, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
        credentials: "same-origin",
        signal: running.signal,
      });
      if (!response.ok) throw new Error(String(response.status));
      show(await response.json());
    } catch (e) {
      if (e.name === "AbortError") return;
      state.textContent = state.dataset.failed;
      state.className = "check-state";
    }
  }

  text.addEventListener("input", () => {
    drawGutter();
    form.dataset.checked = "";
    clearTimeout(timer);
    timer = setTimeout(check, 700);
  });
  text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });
  document.getElementById("check-button").addEventListener("click", check);
  overlaps.addEventListener("change", check);
  list.querySelectorAll("li[data-line]").forEach((li) => {
    li.tabIndex = 0;
    li.addEventListener("click", () => goToLine(Number(li.dataset.line)));
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") goToLine(Number(li.dataset.line)); });
  });
  badLinesFromList();
  drawGutter();
})();
