/* Embudo form embed. Usage on any site:
 *   <script src="https://embudo.example.com/f/<slug>/embed.js" async></script>
 * Optional attributes: data-lang="es", data-target="#css-selector", data-title="Contact form",
 *   data-fields="gclid,campaign_id" (host page query parameters passed on to the form's hidden fields of
 *   those names) and data-field-NAME="value" (a fixed value for the hidden field NAME).
 * Injects an iframe of /f/<slug>/frame/ (so submission is same-origin: no CORS, no third-party JS on
 * the form) and passes the host page's URL, referrer and utm_* parameters to it. The iframe reports
 * its height and, after submitting, an allow-listed redirect the server has already checked. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) { return; }
  var src = new URL(script.src, window.location.href);
  var base = src.origin + src.pathname.replace(/embed\.js$/, "");
  var params = new URLSearchParams();
  params.set("landing_page", window.location.href);
  if (document.referrer) { params.set("referrer", document.referrer); }
  var here = new URLSearchParams(window.location.search);
  ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"].forEach(function (key) {
    var value = here.get(key);
    if (value) { params.set(key, value); }
  });
  // Hidden fields of the form, named by the site that embeds it (nothing else of its URL is passed on).
  var reserved = ["landing_page", "referrer", "lang"];
  (script.getAttribute("data-fields") || "").split(",").forEach(function (name) {
    name = name.trim();
    var value = name && reserved.indexOf(name) < 0 ? here.get(name) : null;
    if (value) { params.set(name, value); }
  });
  Array.prototype.forEach.call(script.attributes, function (attribute) {
    var name = attribute.name.indexOf("data-field-") === 0 ? attribute.name.slice(11) : "";
    if (name && attribute.value && reserved.indexOf(name) < 0) { params.set(name, attribute.value); }
  });
  var lang = script.getAttribute("data-lang");
  if (lang) { params.set("lang", lang); }

  var iframe = document.createElement("iframe");
  iframe.src = base + "frame/?" + params.toString();
  iframe.title = script.getAttribute("data-title") || "Form";
  iframe.setAttribute("data-embudo-form", "");
  iframe.style.width = "100%";
  iframe.style.border = "0";
  iframe.style.minHeight = "360px";
  iframe.style.colorScheme = "normal";

  var target = script.getAttribute("data-target");
  var container = target ? document.querySelector(target) : null;
  if (container) {
    container.appendChild(iframe);
  } else {
    script.parentNode.insertBefore(iframe, script.nextSibling);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== src.origin || event.source !== iframe.contentWindow) { return; }
    var data = event.data || {};
    if (data.type === "embudo:height" && typeof data.height === "number") {
      iframe.style.height = Math.ceil(data.height) + "px";
    } else if (data.type === "embudo:redirect" && /^https?:\/\//.test(String(data.url))) {
      window.location.assign(String(data.url));
    }
  });
})();
