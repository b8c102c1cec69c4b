// lpcfe page helpers: time-zone detection, live relative labels, star toggles, copy buttons.
// Plain JavaScript, no build step; every page also works without it.
(function () {
  "use strict";

  var COOKIE = "lpcfe_tz";
  var bar = document.querySelector(".zone-bar");

  function readCookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? match[1] : null;
  }

  function deviceZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  // First visit: remember the device's zone and show the page in it (once per tab, never in a loop).
  var detected = deviceZone();
  var shown = bar && (bar.dataset.zone === detected || bar.dataset.zoneRequested === detected);
  if (bar && detected && /^[A-Za-z0-9_+\-\/]+$/.test(detected)) {
    if (!readCookie(COOKIE)) {
      document.cookie = COOKIE + "=" + detected + "; path=/; max-age=31536000; samesite=lax";
      if (readCookie(COOKIE) === detected && bar.dataset.zone !== detected && !sessionStorage.getItem("lpcfe-tz-reloaded")) {
        sessionStorage.setItem("lpcfe-tz-reloaded", "1");
        window.location.reload();
        return;
      }
    }
    // Travelling, or chose another zone: offer the device's zone in one click.
    var form = bar.querySelector(".device-zone");
    if (form && !shown) {
      form.querySelector("input[name=zone]").value = detected;
      form.querySelector(".device-zone-name").textContent = detected;
      form.hidden = false;
    }
  }

  // Relative labels ("starts in 5 min") kept current between page updates.
  var strings = {};
  var stringsNode = document.getElementById("lpcfe-strings");
  if (stringsNode) strings = JSON.parse(stringsNode.textContent);
  var serverNow = bar && bar.dataset.now ? Date.parse(bar.dataset.now) : Date.now();
  var clockOffset = serverNow - Date.now();
  var frozen = bar && bar.hasAttribute("data-preview");

  function fill(template, values) {
    return template.replace(/%\((\w+)\)[sd]/g, function (_, key) { return values[key]; });
  }

  function span(ms) {
    var minutes = Math.max(1, Math.ceil(ms / 60000));
    if (minutes < 60) return fill(strings.min, { n: minutes });
    if (minutes < 1440) {
      var hours = Math.floor(minutes / 60), rest = minutes % 60;
      return fill(strings.h, { n: hours }) + (rest ? " " + fill(strings.min, { n: rest }) : "");
    }
    var days = Math.round(minutes / 1440);
    return fill(days === 1 ? strings.day : strings.days, { n: days });
  }

  function relabel() {
    if (frozen || !strings.starts) return;
    var now = Date.now() + clockOffset;
    document.querySelectorAll(".rel[data-start][data-end]").forEach(function (node) {
      var start = Date.parse(node.dataset.start), end = Date.parse(node.dataset.end);
      if (now < start) node.textContent = fill(strings.starts, { span: span(start - now) });
      else if (now < end) node.textContent = fill(strings.ends, { span: span(end - now) });
      else node.textContent = fill(strings.ended, { span: span(now - end) });
    });
    moveNowLine(now);
  }

  // The day grid's "now" line follows the clock (within the stretches the grid shows).
  function moveNowLine(now) {
    var grid = document.querySelector(".day-grid[data-segments]");
    var line = grid && grid.querySelector(".now-line");
    if (!line) return;
    var slot = 1000 * Number(grid.dataset.slotSeconds);
    JSON.parse(grid.dataset.segments).forEach(function (segment) {
      var start = Date.parse(segment[0]), end = Date.parse(segment[1]);
      if (now >= start && now < end) line.style.gridRow = String(segment[2] + Math.floor((now - start) / slot));
    });
  }

  window.lpcfe = { relabel: relabel, setServerNow: function (iso) { clockOffset = Date.parse(iso) - Date.now(); } };
  setInterval(relabel, 30000);

  // Star buttons without a page reload (the form posts normally without JavaScript).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("star-form")) return;
    event.preventDefault();
    var input = form.querySelector("input[name=starred]");
    var button = form.querySelector("button");
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) { form.submit(); return null; }
      return response.json();
    }).then(function (data) {
      if (!data) return;
      input.value = data.starred ? "0" : "1";
      button.classList.toggle("is-on", data.starred);
      button.querySelector("[aria-hidden]").textContent = data.starred ? "★" : "☆";
      button.querySelector(".star-text").textContent = data.starred ? button.dataset.on : button.dataset.off;
    }).catch(function () { form.submit(); });
  });

  // Copy buttons.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".copy-button");
    if (!button) return;
    var field = document.querySelector(button.dataset.copy);
    if (!field) return;
    field.select();
    var done = function () { button.textContent = button.dataset.done; };
    if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, function () {});
    else if (document.execCommand("copy")) done();
  });
})();
