// The order page follows its order live: it waits on /orders/<id>/status (a long poll that answers as soon
// as the order changes, or after ~20 s unchanged) and reloads itself once the order changed. Without
// JavaScript the page's <noscript> refresh does the same every few seconds.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch) return;
  var url = new URL(live.getAttribute("data-status-url"), window.location.href);
  var state = live.getAttribute("data-state") || "";
  var started = Date.now();
  var GIVE_UP_MS = 60 * 60 * 1000; // an hour on one page: the buyer has left

  function pause(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  async function follow() {
    var failures = 0;
    while (Date.now() - started < GIVE_UP_MS) {
      url.searchParams.set("after", state);
      try {
        var answer = await fetch(url.toString(), {
          credentials: "same-origin",
          cache: "no-store",
          headers: { Accept: "application/json" },
        });
        if (answer.status === 404) return; // no longer ours to see
        if (!answer.ok) throw new Error("HTTP " + answer.status);
        var body = await answer.json();
        failures = 0;
        if (body.changed) {
          window.location.reload();
          return;
        }
        if (body.retry_ms) await pause(body.retry_ms);
      } catch (error) {
        failures += 1;
        await pause(Math.min(30000, 1000 * Math.pow(2, failures)));
      }
    }
  }

  follow();
})();
