// The kiosk page's behaviour (no inline script: the CSP forbids it): the on-screen keypad, the idle
// timeout with its countdown, and the live amount of cash inserted.
"use strict";

function setUpKeypad() {
  const pad = document.querySelector(".keypad");
  if (!pad) return;
  const input = document.getElementById(pad.dataset.target);
  pad.addEventListener("click", (event) => {
    const key = event.target.closest("[data-key]");
    if (!key) return;
    const value = key.dataset.key;
    if (value === "clear") input.value = "";
    else if (value === "back") input.value = input.value.slice(0, -1);
    else if (input.value.replace(/\D/g, "").length < 13) input.value = format(input.value + value);
  });
}

function format(text) {
  // 0470 12 34 56: the way Belgian mobile numbers are written
  const digits = text.replace(/\D/g, "");
  const parts = [digits.slice(0, 4), digits.slice(4, 6), digits.slice(6, 8), digits.slice(8)];
  return parts.filter(Boolean).join(" ");
}

function setUpIdle() {
  const body = document.body;
  const form = document.getElementById("idle-reset");
  if (!form) return;
  const timeoutMs = Number(body.dataset.idleTimeout) * 1000;
  const warningMs = Number(body.dataset.idleWarning) * 1000;
  const overlay = document.getElementById("idle");
  const seconds = document.getElementById("idle-seconds");
  let last = Date.now();
  const touched = () => {
    last = Date.now();
    overlay.hidden = true;
  };
  for (const name of ["pointerdown", "touchstart", "keydown"]) {
    document.addEventListener(name, touched, { capture: true, passive: true });
  }
  window.kioskTouched = touched; // the cash page counts an inserted note as activity
  setInterval(() => {
    const left = timeoutMs - (Date.now() - last);
    if (left <= 0) {
      form.submit();
    } else if (left <= warningMs) {
      seconds.textContent = String(Math.ceil(left / 1000));
      overlay.hidden = false;
    }
  }, 250);
}

/** Ask `url` for JSON every 0.7 s and hand each answer to `onAnswer` (a lost answer is asked again). */
function poll(url, onAnswer) {
  const once = async () => {
    try {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      onAnswer(await response.json());
    } catch (error) {
      // the next round asks again
    }
  };
  once();
  setInterval(once, 700);
}

function setUpCash() {
  // The amount inserted, live; the receipt once the sale is made; a refused note's reason.
  const box = document.getElementById("cash");
  if (!box) return;
  const inserted = document.getElementById("inserted");
  const notice = document.getElementById("cash-notice");
  let lastMinor = -1;
  let lastRefused = -1;
  poll(box.dataset.statusUrl, (answer) => {
    if (answer.status === "paid") return window.location.assign(box.dataset.doneUrl);
    if (answer.status !== "open") return window.location.assign("/kiosk/");
    if (answer.inserted_minor !== lastMinor) {
      if (lastMinor >= 0 && window.kioskTouched) window.kioskTouched();
      lastMinor = answer.inserted_minor;
      inserted.textContent = answer.inserted;
    }
    const refused = answer.refused || 0;
    if (lastRefused >= 0 && refused !== lastRefused) {
      notice.textContent = answer.notice;
      notice.hidden = false;
      if (window.kioskTouched) window.kioskTouched();
    }
    lastRefused = refused;
  });
}

function setUpCard() {
  // The card page waits for the provider's webhook to pay the order, or for a decline.
  const box = document.getElementById("card");
  if (!box) return;
  poll(box.dataset.statusUrl, (answer) => {
    if (answer.status === "paid") window.location.assign(box.dataset.doneUrl);
    else if (answer.status === "declined") window.location.assign(box.dataset.declinedUrl);
    else if (answer.status !== "waiting") window.location.assign("/kiosk/");
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpKeypad();
  setUpIdle();
  setUpCash();
  setUpCard();
});
