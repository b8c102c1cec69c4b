// The status page reloads itself every data-seconds while its toggle is pressed. Organisers can
// switch that off (kept for the tab), so a reload never pulls the page away from someone reading.
(function () {
  "use strict";
  var button = document.getElementById("auto-refresh");
  if (!button) return;
  var KEY = "lpcfe-status-refresh";
  var seconds = parseInt(button.getAttribute("data-seconds"), 10) || 30;
  var timer = null;

  function stored() {
    try { return sessionStorage.getItem(KEY) !== "off"; } catch (e) { return true; }
  }

  function apply(on) {
    button.setAttribute("aria-pressed", on ? "true" : "false");
    try { sessionStorage.setItem(KEY, on ? "on" : "off"); } catch (e) { /* private mode: not kept */ }
    if (timer) clearTimeout(timer);
    timer = on ? setTimeout(function () { location.reload(); }, seconds * 1000) : null;
  }

  button.parentNode.hidden = false;
  button.addEventListener("click", function () {
    apply(button.getAttribute("aria-pressed") !== "true");
  });
  apply(stored());
})();
