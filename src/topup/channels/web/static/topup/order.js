// The order page follows its order live: it listens to /orders/<id>/events (Server-Sent Events pushed as
// the order changes) or, in a browser without EventSource, waits on /orders/<id>/status (a long poll that
// answers as soon as the order changes, or after ~20 s unchanged). Once the order changed it draws the page
// again in place (the same page fetched anew, its <main> swapped in: no reload, no flash). Without
// JavaScript the page's <noscript> refresh reloads it every few seconds instead.
(function () {
  "use strict";
  if (!window.fetch || !window.DOMParser) return;
  var GIVE_UP_MS = 60 * 60 * 1000; // an hour on one page: the buyer has left
  var started = Date.now();

  function pause(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  /** The page as the server draws it now, in place of the old one; false when it had to reload. */
  async function redraw() {
    var answer = await fetch(window.location.href, {
      credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" },
    });
    var fresh = answer.ok ? new DOMParser().parseFromString(await answer.text(), "text/html") : null;
    var main = fresh && fresh.querySelector("main");
    if (!main) {
      window.location.reload();
      return false;
    }
    document.querySelector("main").replaceWith(document.adoptNode(main));
    document.title = fresh.title;
    var verdict = document.querySelector("#outcome[data-outcome] h1");
    if (verdict) { // the order ended: take screen readers (and eyes) to what happened
      verdict.setAttribute("tabindex", "-1");
      verdict.focus();
    }
    return true;
  }

  async function follow() {
    var failures = 0;
    while (Date.now() - started < GIVE_UP_MS) {
      var live = document.getElementById("live");
      if (!live) return; // the order is settled: nothing more will change
      var url = new URL(live.getAttribute("data-status-url"), window.location.href);
      url.searchParams.set("after", live.getAttribute("data-state") || "");
      try {
        var answer = await fetch(url.toString(), {
          credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
        });
        if (answer.status === 404) return; // no longer ours to see
        if (!answer.ok) throw new Error("HTTP " + answer.status);
        var body = await answer.json();
        failures = 0;
        if (body.changed) {
          if (!(await redraw())) return;
          await pause(250); // a guard: never a tight loop, whatever the server says
        } else if (body.retry_ms) {
          await pause(body.retry_ms);
        }
      } catch (error) {
        failures += 1;
        await pause(Math.min(30000, 1000 * Math.pow(2, failures)));
      }
    }
  }

  /** Follow the event stream; the browser reconnects by itself (with Last-Event-ID) when it ends. */
  function listen(live) {
    var url = new URL(live.getAttribute("data-events-url"), window.location.href);
    url.searchParams.set("after", live.getAttribute("data-state") || "");
    var source = new EventSource(url.toString());
    var drawing = Promise.resolve(true);
    source.addEventListener("order", function (message) {
      var now = document.getElementById("live");
      if (!now || now.getAttribute("data-state") === message.lastEventId) return;
      drawing = drawing.then(function (stayed) {
        return stayed && redraw().then(function (drawn) {
          if (!drawn || !document.getElementById("live")) source.close(); // settled: nothing more to hear
          return drawn;
        });
      });
    });
    source.addEventListener("error", function () { // refused (busy, gone): wait the long-poll way instead
      if (source.readyState === EventSource.CLOSED && document.getElementById("live")) follow();
    });
    window.setTimeout(function () { source.close(); }, GIVE_UP_MS);
  }

  var live = document.getElementById("live");
  if (!live) return;
  if (window.EventSource && live.getAttribute("data-events-url")) listen(live);
  else follow();
})();
