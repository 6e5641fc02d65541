// The "log an interaction" panel: tabs (ARIA tablist with arrow keys), the WhatsApp link that follows the
// message being typed, and the browser's time zone for backdated logs. Event delegation: the panel is
// swapped in and out by htmx, so nothing binds to its elements. Loaded once per page.
(function () {
  "use strict";
  if (window.embudoInteractions) return;
  window.embudoInteractions = true;

  function select(tab, focus) {
    var list = tab.closest("[role=tablist]");
    var panel = tab.closest("[data-interactions-panel]");
    if (!list || !panel) return;
    list.querySelectorAll("[role=tab]").forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      var target = document.getElementById(t.getAttribute("aria-controls"));
      if (target) target.hidden = !on;
    });
    if (focus) tab.focus();
  }

  document.addEventListener("click", function (event) {
    var tab = event.target.closest("[data-interactions-panel] [data-ix-tab]");
    if (tab) select(tab, false);
  });

  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest("[data-interactions-panel] [data-ix-tab]");
    if (!tab) return;
    var tabs = Array.prototype.slice.call(tab.closest("[role=tablist]").querySelectorAll("[role=tab]"));
    var i = tabs.indexOf(tab);
    var next = null;
    if (event.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
    else if (event.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
    else if (event.key === "Home") next = tabs[0];
    else if (event.key === "End") next = tabs[tabs.length - 1];
    if (next) {
      event.preventDefault();
      select(next, true);
    }
  });

  document.addEventListener("input", function (event) {
    var text = event.target.closest("[data-ix-wa-text]");
    if (!text) return;
    var link = text.form && text.form.querySelector("[data-ix-wa-link]");
    if (!link) return;
    var base = link.getAttribute("data-ix-wa-base");
    var value = text.value.trim();
    link.href = value ? base + "?text=" + encodeURIComponent(value) : base;
  });

  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.querySelectorAll) return;
    form.querySelectorAll("[data-ix-tz]").forEach(function (input) { input.value = zone; });
  }, true);
})();
