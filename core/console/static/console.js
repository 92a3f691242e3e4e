// Live pages: on every update the server pushes, fetch the page's main block again.
(function () {
  "use strict";
  var main = document.querySelector("main[data-live]");
  if (!main || !window.EventSource) { return; }
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { headers: { "X-Console-Fragment": "1" }, credentials: "same-origin" })
      .then(function (r) { if (r.ok) { return r.text(); } throw new Error(r.status); })
      .then(function (html) { main.innerHTML = html; })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var source = new EventSource("/console/events");
  source.addEventListener("conversation", refresh);
  source.addEventListener("agent", refresh);
  document.documentElement.setAttribute("data-live-ready", "1");
})();
