/* Embudo tracking snippet: dependency-free, consent first.
 *
 *   <script src="https://embudo.example.com/static/tracking/embudo-track.js"
 *           data-site="ets_…" data-endpoint="https://embudo.example.com/t/collect" defer></script>
 *
 * Nothing is stored or sent until consent: call EmbudoTrack.consent() from your consent banner, or
 * render the tag with data-consent="granted" when the visitor already agreed. Then an anonymous
 * visitor id is kept in this site's localStorage (first party, no cookie), the page view is sent
 * (url, path, title, referrer, utm_*), and Embudo forms on the page carry the id as the hidden
 * field embudo_visitor_id, so a submission stitches the visits to the new lead.
 *
 * API: EmbudoTrack.consent(), .revoke() (stops and forgets the id), .page(), .track(type, properties),
 * .identify(email), .visitorId(). Calls made before the script loads can be queued:
 *   window.EmbudoTrack = window.EmbudoTrack || []; EmbudoTrack.push(["consent"]);
 */
(function () {
  "use strict";
  var STORAGE_KEY = "embudo_track";
  var FIELD = "embudo_visitor_id";
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  var script = document.currentScript;
  var queued = Array.isArray(window.EmbudoTrack) ? window.EmbudoTrack : [];
  if (!script || !script.src || (window.EmbudoTrack && !Array.isArray(window.EmbudoTrack))) { return; }
  var siteKey = script.getAttribute("data-site") || "";
  var scriptOrigin = new URL(script.src, window.location.href).origin;
  var endpoint = script.getAttribute("data-endpoint") || scriptOrigin + "/t/collect";
  var embudoOrigin = new URL(endpoint, window.location.href).origin;
  var state = null; // {id: visitor id} once consented
  var pendingPage = true; // the current page view, sent when consent arrives
  var observer = null;

  function load() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "null");
      return saved && typeof saved.id === "string" && /^[A-Za-z0-9_-]{8,64}$/.test(saved.id) ? saved : null;
    } catch (e) { return null; }
  }
  function save() {
    try { window.localStorage.setItem(STORAGE_KEY, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  function randomId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function send(body) {
    if (!state || !siteKey) { return; }
    body.visitor_id = state.id;
    var url = endpoint + (endpoint.indexOf("?") < 0 ? "?" : "&") + "k=" + encodeURIComponent(siteKey);
    var data = JSON.stringify(body);
    // text/plain keeps it a simple CORS request (no preflight); no credentials: Embudo sets no cookie here.
    if (window.fetch) {
      window.fetch(url, { method: "POST", body: data, keepalive: true, mode: "cors", credentials: "omit",
        headers: { "Content-Type": "text/plain;charset=UTF-8" } }).catch(function () {});
    } else if (navigator.sendBeacon) {
      navigator.sendBeacon(url, new Blob([data], { type: "text/plain;charset=UTF-8" }));
    }
  }
  function event(type, properties) {
    return { type: type, properties: properties || {}, id: randomId(), timestamp: new Date().toISOString() };
  }
  function withoutPersonalData(u) {
    var kept = new URLSearchParams();
    u.searchParams.forEach(function (value, key) { if (key.indexOf("utm_") === 0) { kept.append(key, value); } });
    var query = kept.toString();
    return u.origin + u.pathname + (query ? "?" + query : "");
  }
  function pageProperties() {
    var here = new URL(window.location.href);
    // Query strings and fragments may carry personal data: only utm_* parameters leave the page.
    var props = { url: withoutPersonalData(here), path: here.pathname, title: document.title || "" };
    if (document.referrer) {
      try { props.referrer = withoutPersonalData(new URL(document.referrer)); } catch (e) { /* not a URL */ }
    }
    UTM.forEach(function (key) { var v = here.searchParams.get(key); if (v) { props[key] = v; } });
    return props;
  }

  // --- Embudo forms on the page carry the visitor id ---------------------------------------------
  function isEmbudoUrl(value) {
    try {
      var u = new URL(value, window.location.href);
      return u.origin === embudoOrigin && (/^\/f\/[^/]+\/(frame\/)?$/.test(u.pathname) || u.pathname === "/w2l/");
    } catch (e) { return false; }
  }
  function withVisitor(value) {
    var u = new URL(value, window.location.href);
    if (u.searchParams.get(FIELD) === state.id) { return null; }
    u.searchParams.set(FIELD, state.id);
    return u.href;
  }
  function decorate(root) {
    if (!state || !root.querySelectorAll) { return; }
    Array.prototype.forEach.call(root.querySelectorAll("iframe[data-embudo-form]"), function (frame) {
      var next = frame.src && withVisitor(frame.src);
      if (next) { frame.src = next; }
    });
    Array.prototype.forEach.call(root.querySelectorAll("form[action]"), function (form) {
      if (!isEmbudoUrl(form.getAttribute("action"))) { return; }
      var input = form.querySelector("input[name='" + FIELD + "']");
      if (!input) {
        input = document.createElement("input");
        input.type = "hidden";
        input.name = FIELD;
        form.appendChild(input);
      }
      input.value = state.id;
    });
    Array.prototype.forEach.call(root.querySelectorAll("a[href]"), function (link) {
      if (!isEmbudoUrl(link.getAttribute("href"))) { return; }
      var next = withVisitor(link.getAttribute("href"));
      if (next) { link.setAttribute("href", next); }
    });
  }
  function watch() {
    decorate(document);
    if (observer || !window.MutationObserver) { return; }
    observer = new MutationObserver(function (records) {
      records.forEach(function (record) {
        Array.prototype.forEach.call(record.addedNodes, function (node) {
          if (node.nodeType !== 1) { return; }
          if (node.matches && node.matches("iframe[data-embudo-form], form[action], a[href]")) {
            decorate(node.parentNode || document);
          } else {
            decorate(node);
          }
        });
      });
    });
    observer.observe(document.documentElement, { childList: true, subtree: true });
  }

  // --- public API -----------------------------------------------------------------------------------
  var api = {
    consent: function () {
      if (!state) {
        state = load() || { id: randomId() };
        save();
      }
      if (pendingPage) { pendingPage = false; send({ events: [event("page_view", pageProperties())] }); }
      if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", watch);
      } else {
        watch();
      }
    },
    revoke: function () {
      state = null;
      pendingPage = false;
      if (observer) { observer.disconnect(); observer = null; }
      try { window.localStorage.removeItem(STORAGE_KEY); } catch (e) { /* nothing stored */ }
    },
    page: function () { if (state) { send({ events: [event("page_view", pageProperties())] }); } },
    track: function (type, properties) {
      if (state && typeof type === "string") { send({ events: [event(type, properties)] }); }
    },
    identify: function (email) {
      if (state && typeof email === "string" && email.indexOf("@") > 0) { send({ identify: { email: email } }); }
    },
    visitorId: function () { return state ? state.id : null; },
    push: function (call) {
      if (Array.isArray(call) && typeof api[call[0]] === "function" && call[0] !== "push") {
        api[call[0]].apply(null, call.slice(1));
      }
    }
  };
  window.EmbudoTrack = api;
  // Consent given on an earlier page is remembered with the id (revoke() forgets both).
  if (script.getAttribute("data-consent") === "granted" || load()) { api.consent(); }
  queued.forEach(api.push);
})();
