/* Runs inside the form iframe: tells the embedding page our height, and where to go after a submit
 * (the server only sets data-redirect for allow-listed hosts). Also blocks double submits. */
(function () {
  "use strict";
  if (window.parent === window) { return; }
  function report() {
    window.parent.postMessage({ type: "embudo:height", height: document.documentElement.scrollHeight }, "*");
  }
  window.addEventListener("load", report);
  if (window.ResizeObserver) { new ResizeObserver(report).observe(document.body); }
  var redirect = document.body.getAttribute("data-redirect");
  if (redirect) { window.parent.postMessage({ type: "embudo:redirect", url: redirect }, "*"); }
})();
document.addEventListener("submit", function (event) {
  "use strict";
  var form = event.target;
  if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
  form.setAttribute("data-sent", "1");
});
