// Tasks: keep focus and the spoken status across htmx swaps; show the date fields only for "Pick a date".
(function () {
  "use strict";
  if (window.embudoTasks) return;
  window.embudoTasks = true;
  var pending = null; // {focus: selector, status: text}

  function syncWhen(root) {
    (root || document).querySelectorAll("[data-task-form]").forEach(function (form) {
      var custom = form.querySelector("[data-when-custom]");
      var picked = form.querySelector("input[name=when]:checked");
      if (custom) custom.hidden = !(picked && picked.value === "pick");
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-task-form] input[name=when]")) {
      syncWhen(event.target.closest("[data-task-form]").parentNode);
      if (event.target.value === "pick") {
        var date = event.target.closest("[data-task-form]").querySelector("input[name=due_date]");
        if (date) date.focus();
      }
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = event.detail.elt;
    if (!el || !el.closest) return;
    if (el.matches("[data-task-form]")) pending = { focus: "#tasks-card-title" };
    else if (el.closest("#my-day-body")) {
      var section = el.closest("section");
      pending = { focus: section ? "#" + section.querySelector("h2").id : "#my-day-body h2" };
    } else if (el.closest("#tasks-card")) pending = { focus: "#tasks-card-title" };
  });

  document.addEventListener("htmx:afterSettle", function () {
    syncWhen(document);
    var status = document.querySelector("[data-tasks-status]");
    if (pending && status) {
      if (status.textContent.trim()) pending.status = status.textContent.trim();
      else if (pending.status) status.textContent = pending.status; // the panel was reloaded by the page
    }
    if (pending && pending.focus) {
      var target = document.querySelector(pending.focus);
      var form = document.querySelector("[data-task-form] .field--invalid input, [data-task-form] .field--invalid select");
      if (form) form.focus();
      else if (target) target.focus();
    }
    if (pending) setTimeout(function () { pending = null; }, 1500);
  });

  document.addEventListener("DOMContentLoaded", function () { syncWhen(document); });
  syncWhen(document);
})();
