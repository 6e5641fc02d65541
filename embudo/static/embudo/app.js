// Embudo: small progressive enhancements. Everything works without JavaScript.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (toggle) {
      var menu = document.getElementById(toggle.getAttribute("aria-controls"));
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      menu.classList.toggle("is-open", open);
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var input = document.querySelector(copy.getAttribute("data-copy"));
      input.select();
      var done = function () {
        var label = copy.textContent;
        copy.textContent = copy.getAttribute("data-copied-label") || label;
        setTimeout(function () { copy.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done);
      } else {
        document.execCommand("copy");
        done();
      }
      return;
    }
    // Close the user menu and the "More" menu when clicking elsewhere.
    document.querySelectorAll("details.user-menu[open], details.nav-more[open]").forEach(function (details) {
      if (!details.contains(event.target)) details.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details.user-menu[open], details.nav-more[open]").forEach(function (details) {
        details.removeAttribute("open");
        details.querySelector("summary").focus();
      });
    }
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) event.target.select();
  });
})();

// Lead page: inline edits, focus after htmx swaps, contact actions that open the matching "log" tab.
(function () {
  "use strict";
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || elt === document.body || !elt.querySelector) return;
    var target = elt.matches("[data-autofocus]") ? elt : elt.querySelector("[data-autofocus]");
    var form = elt.matches("[data-inline-edit]") ? elt : elt.querySelector("[data-inline-edit]");
    if (!target && form) target = form.querySelector("[aria-invalid='true']") || form.querySelector("input:not([type=hidden]), select, textarea");
    if (target) target.focus();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var form = event.target.closest && event.target.closest("[data-inline-edit]");
    if (!form) return;
    var cancel = form.querySelector("[data-cancel]");
    if (cancel) {
      event.preventDefault();
      // htmx binds swapped-in content in its settle step, ~20 ms after the form appears: an Esc pressed before
      // that would follow Cancel as a plain link (a full page load, the focus lost). Processing twice is a no-op.
      if (window.htmx) window.htmx.process(cancel);
      cancel.click();
    }
  });
  document.addEventListener("click", function (event) {
    var action = event.target.closest && event.target.closest("[data-log-kind]");
    if (!action || !window.htmx) return;
    var panel = document.getElementById("interactions-panel");
    var url = panel && panel.getAttribute("data-panel-url");
    if (!url) return;
    window.htmx.ajax("GET", url + (url.indexOf("?") < 0 ? "?" : "&") + "kind=" + encodeURIComponent(action.getAttribute("data-log-kind")),
      { target: panel, swap: "innerHTML" });
  });
})();
