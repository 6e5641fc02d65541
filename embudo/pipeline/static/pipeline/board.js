// Pipeline board: drag and drop (HTML5 DnD) and the "Move to…" forms post the move with fetch; dropping on a
// lost stage asks for the reason first. Without JavaScript the forms post normally (and ask on a page).
(function () {
  "use strict";
  var dragged = null;

  function csrf() {
    var headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function messages() { return document.getElementById("pipeline-messages").dataset; }
  function announce(text) {
    var status = document.getElementById("pipeline-status");
    if (status) { status.textContent = ""; setTimeout(function () { status.textContent = text; }, 50); }
  }
  function showError(text) {
    var box = document.getElementById("pipeline-error");
    box.textContent = text;
    box.hidden = false;
  }
  function column(stageId) { return document.querySelector('[data-dropzone][data-stage-id="' + stageId + '"]'); }

  function refresh(leadId) {
    var url = window.location.pathname + window.location.search;
    return window.htmx.ajax("GET", url, { target: "#pipeline-results", swap: "innerHTML" }).then(function () {
      var card = document.getElementById("deal-" + leadId);
      var focusable = card && card.querySelector("select");
      if (focusable) focusable.focus();
    });
  }

  function post(card, stageId, reason) {
    var base = document.querySelector("[data-board]").dataset.moveBase;
    var body = new FormData();
    body.append("stage_id", stageId);
    if (reason) body.append("lost_reason", reason);
    card.classList.add("is-moving");
    document.getElementById("pipeline-error").hidden = true;
    return fetch(base + card.dataset.leadId + "/move/", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "HX-Request": "true" }
    }).then(function (response) {
      if (response.ok) {
        var target = column(stageId);
        announce(messages().moved + " " + (target ? target.dataset.stageLabel : ""));
        return refresh(card.dataset.leadId);
      }
      card.classList.remove("is-moving");
      return response.text().then(function (text) { showError(text || messages().failed); });
    }).catch(function () { card.classList.remove("is-moving"); showError(messages().failed); });
  }

  function askReason(card, stageId) {
    var dialog = document.getElementById("lost-dialog");
    var form = document.getElementById("lost-dialog-form");
    var input = document.getElementById("lost-dialog-reason");
    var error = document.getElementById("lost-dialog-error");
    var opener = document.activeElement;
    input.value = "";
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    document.getElementById("lost-dialog-lead").textContent = card.dataset.name || "";
    function close() {
      form.removeEventListener("submit", onSubmit);
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      if (opener && document.body.contains(opener)) opener.focus();
    }
    function onSubmit(event) {
      event.preventDefault();
      var reason = input.value.trim();
      if (!reason) {
        error.innerHTML = "<li></li>";
        error.firstChild.textContent = messages().required;
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      close();
      post(card, stageId, reason);
    }
    function onClose() { close(); }
    form.addEventListener("submit", onSubmit);
    dialog.addEventListener("close", onClose);
    dialog.querySelector("[data-dialog-cancel]").onclick = function () { close(); };
    dialog.showModal();
    input.focus();
  }

  function move(card, stageId, kind) {
    if (!stageId || String(stageId) === card.dataset.stageId) return;
    if (kind === "lost") askReason(card, stageId);
    else post(card, stageId, "");
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-move-form]");
    if (!form) return;
    event.preventDefault();
    var select = form.querySelector("select[name=stage_id]");
    var option = select.options[select.selectedIndex];
    if (!select.value) { select.focus(); return; }
    move(form.closest(".deal-card"), select.value, option.dataset.kind);
  });

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card");
    if (!card) return;
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.leadId);
  });
  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("is-dragging");
    document.querySelectorAll(".pipeline-column.is-over").forEach(function (c) { c.classList.remove("is-over"); });
  });
  document.addEventListener("dragover", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".pipeline-column.is-over").forEach(function (c) { if (c !== zone) c.classList.remove("is-over"); });
    zone.classList.add("is-over");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone || !dragged) return;
    event.preventDefault();
    zone.classList.remove("is-over");
    var card = dragged;
    dragged = null;
    card.classList.remove("is-dragging");
    move(card, zone.dataset.stageId, zone.dataset.stageKind);
  });
})();
