// The now page updates itself at session boundaries: it waits until the next boundary the
// server named plus a random 0-30 s (SCHEDULE_REFRESH_JITTER_SECONDS) (so a thousand open pages do not ask at the same second),
// fetches the small state document and swaps in the rooms. Errors back off with jitter.
(function () {
  "use strict";

  var box = document.getElementById("now-rooms");
  if (!box || box.hasAttribute("data-preview") || !window.fetch) return;
  var url = box.dataset.stateUrl;
  var failures = 0;
  var JITTER_SECONDS = Number(box.dataset.jitter || 30);

  var due = 0, timer = null;

  function later(seconds) {
    var wait = (Math.max(1, seconds) + Math.random() * JITTER_SECONDS) * 1000;
    due = Date.now() + wait;
    window.clearTimeout(timer);
    timer = window.setTimeout(update, wait);
  }

  // Background tabs run timers late (Chromium: once a minute at most); catch up when seen again.
  function catchUp() {
    if (document.visibilityState !== "visible" || !due || Date.now() < due) return;
    window.clearTimeout(timer);
    due = 0;
    update();
  }
  document.addEventListener("visibilitychange", catchUp);
  window.addEventListener("focus", catchUp);

  function update() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (state) {
        failures = 0;
        box.innerHTML = state.html;
        var label = document.querySelector(".zone-bar .zone-label");
        if (label) label.textContent = state.zone_label;
        if (window.lpcfe) {
          window.lpcfe.setServerNow(state.server_time);
          window.lpcfe.relabel();
        }
        later(state.refresh_after);
      })
      .catch(function () {
        failures += 1;
        later(Math.min(600, 15 * Math.pow(2, failures)));
      });
  }

  later(Number(box.dataset.refreshAfter) || 60);
})();
