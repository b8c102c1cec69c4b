// The room page: collapse the chat on wide screens, meeting/chat tabs on narrow ones.
(function () {
  "use strict";
  var page = document.getElementById("room-page");
  if (!page) return;
  var toggle = document.getElementById("chat-toggle");
  var tablist = page.querySelector(".room-tabs");
  var tabs = Array.prototype.slice.call(page.querySelectorAll('[role="tab"]'));
  var panels = tabs.map(function (tab) { return document.getElementById(tab.getAttribute("aria-controls")); });
  var narrow = window.matchMedia("(max-width: 48rem)");
  var storeKey = "lpcfe.chatCollapsed";

  function setCollapsed(collapsed) {
    page.classList.toggle("chat-collapsed", collapsed);
    toggle.setAttribute("aria-expanded", String(!collapsed));
    toggle.textContent = collapsed ? toggle.dataset.show : toggle.dataset.hide;
    try { localStorage.setItem(storeKey, collapsed ? "1" : "0"); } catch (e) { /* private mode */ }
  }

  function select(index, focus) {
    tabs.forEach(function (tab, i) {
      var on = i === index;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      panels[i].hidden = !on;
      if (on && focus) tab.focus();
    });
  }

  function layout() {
    var tabbed = narrow.matches;
    page.classList.toggle("tabbed", tabbed);
    tablist.hidden = !tabbed;
    toggle.hidden = tabbed;
    panels.forEach(function (panel, i) {
      if (tabbed) {
        panel.setAttribute("role", "tabpanel");
        panel.setAttribute("aria-labelledby", tabs[i].id);
      } else {
        panel.removeAttribute("role");
        panel.removeAttribute("aria-labelledby");
        panel.hidden = false;
      }
    });
    if (tabbed) {
      var current = tabs.findIndex(function (tab) { return tab.getAttribute("aria-selected") === "true"; });
      select(current < 0 ? 0 : current, false);
    }
  }

  toggle.addEventListener("click", function () {
    setCollapsed(!page.classList.contains("chat-collapsed"));
  });
  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { select(i, false); });
    tab.addEventListener("keydown", function (event) {
      var next = null;
      if (event.key === "ArrowRight") next = (i + 1) % tabs.length;
      else if (event.key === "ArrowLeft") next = (i - 1 + tabs.length) % tabs.length;
      else if (event.key === "Home") next = 0;
      else if (event.key === "End") next = tabs.length - 1;
      if (next !== null) { event.preventDefault(); select(next, true); }
    });
  });
  var stored = null;
  try { stored = localStorage.getItem(storeKey); } catch (e) { /* private mode */ }
  setCollapsed(stored === "1");
  if (narrow.addEventListener) narrow.addEventListener("change", layout);
  layout();

  // A page left open (even in a background tab) enables Join when the room opens, and disables
  // it when it closes: it asks the server again at the moment the decision changes (plus jitter).
  var joinBox = document.getElementById("room-join");
  var placeholder = document.getElementById("meeting-placeholder");
  if (joinBox && window.fetch) {
    var due = 0, timer = null, failures = 0, busy = false;
    var jitter = Number(joinBox.dataset.jitter || 30);

    var later = function (seconds) {
      var wait = (Math.max(1, seconds) + Math.random() * jitter) * 1000;
      due = Date.now() + wait;
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, wait);
    };
    var refresh = function () {
      if (busy) return;
      busy = true;
      window.clearTimeout(timer);
      due = 0;
      fetch(joinBox.dataset.stateUrl, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (state) {
          busy = false;
          failures = 0;
          joinBox.innerHTML = state.join_html;
          if (placeholder) placeholder.innerHTML = state.placeholder_html;
          later(state.refresh_after);
        })
        .catch(function () {
          busy = false;
          failures += 1;
          later(Math.min(600, 15 * Math.pow(2, failures)));
        });
    };
    // Background tabs run timers late (Chromium: once a minute at most); catch up when seen again.
    var catchUp = function () {
      if (document.visibilityState === "visible" && due && Date.now() >= due) refresh();
    };
    document.addEventListener("visibilitychange", catchUp);
    window.addEventListener("focus", catchUp);
    later(Number(joinBox.dataset.refreshAfter) || 60);
  }
})();
