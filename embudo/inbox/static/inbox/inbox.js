/* The inbox: live SLA countdowns, keyboard shortcuts and quick-action dialogs. No dependencies besides htmx. */
(function () {
  "use strict";

  // ---- SLA countdowns: <time datetime data-countdown> ticking every second, red once breached ----
  // Unit abbreviations in the page's language: data-countdown-units="d h m s" on the inbox (translated).
  function units() {
    var holder = document.querySelector("[data-countdown-units]");
    var parts = ((holder && holder.getAttribute("data-countdown-units")) || "d h m s").split(" ");
    return parts.length === 4 ? parts : ["d", "h", "m", "s"];
  }
  function span(ms) {
    var u = units();
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + u[0] + " " + h + u[1];
    if (h > 0) return h + u[1] + " " + m + u[2];
    if (m > 0) return m + u[2] + " " + (s % 60) + u[3];
    return (s % 60) + u[3];
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("datetime"));
      if (isNaN(due)) return;
      var left = due - now;
      var over = left <= 0;
      el.textContent = over ? (el.dataset.labelOver || "overdue") + " " + span(left) : span(left) + " " + (el.dataset.labelLeft || "left");
      el.classList.toggle("is-breached", over);
      el.classList.toggle("is-soon", !over && left <= 3600 * 1000);
    });
  }

  // ---- rows and focus ----
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-inbox-row]")); }
  var currentIndex = -1;
  function current() {
    var all = rows();
    var active = document.activeElement && document.activeElement.closest ? document.activeElement.closest("[data-inbox-row]") : null;
    if (active) { currentIndex = all.indexOf(active); return active; }
    if (currentIndex >= 0 && currentIndex < all.length) return all[currentIndex];
    return null;
  }
  function focusRow(index) {
    var all = rows();
    if (!all.length) return;
    currentIndex = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (r, i) { r.classList.toggle("is-current", i === currentIndex); });
    all[currentIndex].focus();
    all[currentIndex].scrollIntoView({ block: "nearest" });
  }

  // ---- dialogs ----
  var returnFocus = null;
  function dialog() { return document.getElementById("inbox-dialog"); }
  function openDialog(url, title) {
    var dlg = dialog();
    if (!dlg || !window.htmx) { window.location.href = url; return; }
    returnFocus = current();
    var body = document.getElementById("inbox-dialog-body");
    document.getElementById("inbox-dialog-title").textContent = title || "";
    body.innerHTML = "";
    if (!dlg.open) dlg.showModal();
    window.htmx.ajax("GET", url, { target: "#inbox-dialog-body", swap: "innerHTML" }).then(function () {
      var named = body.querySelector("[data-dialog-title]");
      if (named) document.getElementById("inbox-dialog-title").textContent = named.dataset.dialogTitle;
      var first = body.querySelector("input:not([type=hidden]), select, textarea, button");
      if (first) first.focus();
    });
  }
  function closeDialogs() {
    document.querySelectorAll("dialog[open]").forEach(function (d) { d.close(); });
  }
  function panel(row, kind) {
    if (!row) return;
    if (row.dataset.panelUrl) {
      var label = row.querySelector("[data-action='" + kind + "']");
      openDialog(row.dataset.panelUrl + "?kind=" + kind + "&compact=1", (label ? label.textContent : kind) );
    } else {
      window.location.href = row.dataset.leadUrl;
    }
  }
  function act(row, action) {
    if (!row) return;
    if (action === "call" || action === "email" || action === "meeting") return panel(row, action);
    if (action === "whatsapp") {
      if (row.dataset.whatsapp) window.open(row.dataset.whatsapp, "_blank", "noopener");
      if (row.dataset.panelUrl) panel(row, "whatsapp");
      return;
    }
    if (action === "snooze") return openDialog(row.dataset.snoozeUrl, "");
    if (action === "disqualify") return openDialog(row.dataset.disqualifyUrl, "");
  }

  // ---- refresh after an action ----
  function refresh() {
    var results = document.getElementById("inbox-results");
    if (!results || !window.htmx) return;
    var index = currentIndex;
    window.htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#inbox-results", swap: "innerHTML" })
      .then(function () {
        var status = document.getElementById("inbox-status");
        if (status) status.textContent = status.dataset.refreshed || "";
        if (index >= 0 && rows().length) focusRow(Math.min(index, rows().length - 1));
      });
  }

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  document.addEventListener("keydown", function (e) {
    if (!document.querySelector("[data-inbox]")) return;
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (document.querySelector("dialog[open]")) return; // the dialog owns the keyboard (Esc closes it)
    var key = e.key;
    if (key === "j") { e.preventDefault(); focusRow(currentIndex < 0 ? 0 : currentIndex + 1); return; }
    if (key === "k") { e.preventDefault(); focusRow(currentIndex < 0 ? 0 : currentIndex - 1); return; }
    if (key === "/") {
      var filter = document.querySelector("[data-inbox-filter]");
      if (filter) { e.preventDefault(); filter.focus(); filter.select(); }
      return;
    }
    if (key === "?") { e.preventDefault(); var help = document.getElementById("inbox-help"); if (help) help.showModal(); return; }
    var row = current();
    if (key === "Enter" && row && e.target === row) { e.preventDefault(); window.location.href = row.dataset.leadUrl; return; }
    var map = { c: "call", e: "email", w: "whatsapp", s: "snooze", d: "disqualify" };
    if (map[key] && row) { e.preventDefault(); act(row, map[key]); }
  });

  document.addEventListener("click", function (e) {
    var closer = e.target.closest && e.target.closest("[data-dialog-close]");
    if (closer) { var d = closer.closest("dialog"); if (d) d.close(); return; }
    var help = e.target.closest && e.target.closest("[data-inbox-help]");
    if (help) { document.getElementById("inbox-help").showModal(); return; }
    var button = e.target.closest && e.target.closest("[data-inbox-row] [data-action]");
    if (!button) return;
    var row = button.closest("[data-inbox-row]");
    currentIndex = rows().indexOf(row);
    var action = button.dataset.action;
    if (action === "whatsapp") return; // a plain link to wa.me
    e.preventDefault();
    act(row, action);
  });

  document.addEventListener("focusin", function (e) {
    var row = e.target.closest && e.target.closest("[data-inbox-row]");
    if (row) {
      currentIndex = rows().indexOf(row);
      rows().forEach(function (r) { r.classList.toggle("is-current", r === row); });
    }
  });

  document.addEventListener("close", function (e) {
    if (e.target && e.target.id === "inbox-dialog" && returnFocus && document.body.contains(returnFocus)) returnFocus.focus();
  }, true);

  document.body && init();
  function init() {
    document.body.addEventListener("inbox-changed", function () { closeDialogs(); refresh(); });
    ["interactions-changed", "tasks-changed", "pipeline-changed"].forEach(function (name) {
      document.body.addEventListener(name, refresh);
    });
    document.body.addEventListener("inbox-error", function (e) {
      var status = document.getElementById("inbox-status") || document.querySelector(".messages");
      if (status && e.detail) status.textContent = e.detail.message || "";
      if (e.detail && e.detail.message) window.alert(e.detail.message);
    });
    document.body.addEventListener("htmx:afterSwap", tick);
    tick();
    window.setInterval(tick, 1000);
  }
})();
