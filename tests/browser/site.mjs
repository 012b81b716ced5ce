// The customer website's finish, in a real browser (Debian's chromium driven by playwright-core) at 360 px:
// the home page with its one-line language switcher and footer, a top-up paid on the demo checkout that
// reaches its success state, its receipt and "top up again", a waiting page drawn again in place as soon as
// its event stream (SSE) says the order changed (and the same without JavaScript, by its <noscript> refresh), and the
// help page in Chinese and French.
//
//   node tests/browser/site.mjs <base url> <artifacts dir>
//
// Screenshots go to <artifacts dir>/screenshots/site-*.png. Exit code 0 when every journey passed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error("usage: node tests/browser/site.mjs <base url> <artifacts dir>");
  process.exit(2);
}
const SHOTS = path.join(artifacts, "screenshots");
mkdirSync(SHOTS, { recursive: true });
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];
const WIDTH = 360;

function log(...parts) {
  console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function withBrowser(name, journey, options = {}) {
  const profile = mkdtempSync(path.join(tmpdir(), `topup-site-${name}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: WIDTH, height: 780 },
    deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "en-GB", timezoneId: "Europe/Brussels",
    acceptDownloads: true, ...options,
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (m) => /Content Security Policy/i.test(m.text()) && problems.push(`CSP: ${m.text()}`));
  let step = 0;
  const shot = async (label) => {
    step += 1;
    const file = path.join(SHOTS, `site-${name}-${String(step).padStart(2, "0")}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `${label}: the page is ${overflow}px wider than the ${WIDTH}px screen`);
    log(`${name}: ${label} -> ${path.relative(process.cwd(), file)} (${page.url()})`);
  };
  try {
    await journey(page, shot);
    check(!problems.length, `${name}:\n  ${problems.join("\n  ")}`);
  } catch (error) {
    try {
      await shot("FAILED");
    } catch {
      // the page may be gone, or too wide: the error says why
    }
    try {
      writeFileSync(path.join(SHOTS, `site-${name}-FAILED.html`), await page.content());
    } catch {
      // the browser may be gone
    }
    throw error;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The five language links sit on one line, inside the screen, each with its full name for screen readers. */
async function switcherOnOneLine(page) {
  const links = page.locator("nav.langs a");
  check((await links.count()) === 5, `expected 5 language links, found ${await links.count()}`);
  const boxes = [];
  for (let i = 0; i < 5; i += 1) boxes.push(await links.nth(i).boundingBox());
  const tops = new Set(boxes.map((b) => Math.round(b.y)));
  check(tops.size === 1, `language links on ${tops.size} lines: ${JSON.stringify(boxes)}`);
  check(boxes.every((b) => b.x >= 0 && b.x + b.width <= WIDTH), `a language link leaves the screen: ${JSON.stringify(boxes)}`);
  const labels = await links.evaluateAll((els) => els.map((a) => `${a.textContent.trim()}=${a.getAttribute("aria-label")}`));
  check(labels.join(" ") === "NL=Nederlands FR=Français DE=Deutsch EN=English 中文=简体中文", `switcher: ${labels}`);
}

async function footerLinks(page, words) {
  const footer = page.locator("footer.foot");
  await footer.scrollIntoViewIfNeeded();
  const seen = await footer.locator("a").evaluateAll((els) => els.map((a) => `${a.getAttribute("href")}=${a.textContent.trim()}`));
  check(seen.join(" ") === words, `footer reads ${JSON.stringify(seen)}, expected ${words}`);
}

// (1) Home in English at 360 px: one-line switcher, footer, no API documentation link.
async function home(page, shot) {
  await page.goto(`${base}/?lang=en`);
  await switcherOnOneLine(page);
  check((await page.locator('a[href*="/api/v1/docs"]').count()) === 0, "home still links to the API documentation");
  await footerLinks(page, "/help=Help /contact=Contact /terms=Terms /privacy=Privacy");
  await shot("home");
  await page.goto(`${base}/?lang=zh-hans`);
  await switcherOnOneLine(page);
  await footerLinks(page, "/help=帮助 /contact=联系我们 /terms=使用条款 /privacy=隐私");
  await shot("home-zh");
}

// (2) A top-up paid on the demo checkout: back on the order page it shows its success state (the return
// asks the provider at once), then the receipt (a PDF) and "top up again" (same number, same plan).
async function topup(page, shot) {
  await page.goto(`${base}/topup?lang=en`);
  await page.getByLabel("Mobile number").fill("0470 12 34 56");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(/\/topup\/network/);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(/\/topup\/plans/);
  await page.locator("button.plan").first().click();
  await page.waitForURL(/\/topup\/review/);
  await page.getByRole("radio", { name: "Bancontact" }).check();
  await shot("review");
  await page.getByRole("button", { name: "Pay now" }).click();
  await page.waitForURL(/\/checkout\//);
  await page.getByRole("button", { name: "Approve" }).waitFor();
  await shot("checkout");
  const approved = Date.now();
  await page.getByRole("button", { name: "Approve" }).click();
  await page.waitForURL(/\/orders\//);
  await page.locator('#outcome[data-outcome="success"]').waitFor({ timeout: 60_000 });
  log(`topup: success shown ${((Date.now() - approved) / 1000).toFixed(1)}s after Approve`);
  await shot("order-delivered");
  const heading = (await page.locator("#outcome h1").innerText()).trim();
  check(heading === "Your top-up has arrived", `success heading reads ${JSON.stringify(heading)}`);
  const plan = (await page.locator("#plan-title").innerText()).trim();
  const brand = (await page.locator("#network-brand").innerText()).trim();
  const number = (await page.locator("#order-number").innerText()).trim();
  check(plan && brand === "Proximus" && number.startsWith("ord_"), `plan ${plan}, network ${brand}, order ${number}`);

  const receipt = await page.request.get(new URL(await page.locator("#receipt").getAttribute("href"), base).href);
  check(receipt.ok() && (await receipt.body()).subarray(0, 4).toString() === "%PDF", `receipt: HTTP ${receipt.status()}`);
  await page.locator("#again").click();
  await page.waitForURL(/\/topup\/review/);
  check((await page.content()).includes("+32470123456"), "top up again did not keep the number");
  await shot("again-review");
}

/** What happens on the page from now on: its event stream's and long poll's answers and any navigation. */
function listenToPushes(page) {
  const events = [];
  page.on("response", (r) => {
    if (/\/orders\/[^/]+\/status(\?|$)/.test(r.url())) events.push({ at: Date.now(), what: `status ${r.status()}` });
    if (/\/orders\/[^/]+\/events(\?|$)/.test(r.url())) events.push({ at: Date.now(), what: `events ${r.status()}` });
  });
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) events.push({ at: Date.now(), what: "reload" });
  });
  return events;
}

/** A top-up paid with WeChat Pay: the order page waits, showing the QR code the payer's phone scans. */
async function waitingOnWeChat(page, digits) {
  await page.goto(`${base}/topup?lang=en`);
  await page.getByLabel("Mobile number").fill(digits);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(/\/topup\/network/);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(/\/topup\/plans/);
  await page.locator("button.plan").first().click();
  await page.waitForURL(/\/topup\/review/);
  await page.getByRole("radio", { name: /WeChat Pay/ }).check();
  await page.getByRole("button", { name: "Pay now" }).click();
  await page.waitForURL(/\/orders\//);
  await page.locator(".pay-qr-box").waitFor();
}

/** The payer's phone (the simulator's hosted page, in another tab) approves the WeChat payment. */
async function phoneApproves(page) {
  const phone = await page.context().newPage();
  await phone.goto(await page.locator("#wechat-instructions").getAttribute("href"));
  await phone.getByRole("button", { name: "Approve" }).click();
  const approved = Date.now();
  await phone.close();
  return approved;
}

// (3) The page follows a payment made elsewhere: WeChat Pay's QR code waits on the order page; the payer's
// phone approves; the waiting page turns to success by itself, told by its event stream (no long poll).
async function pushed(page, shot) {
  const streams = []; // the page opens its event stream as it loads
  page.on("response", (r) => /\/orders\/[^/]+\/events(\?|$)/.test(r.url()) && streams.push(r.status()));
  await waitingOnWeChat(page, "0470 12 34 57");
  check((await page.locator("#live").count()) === 1, "the waiting page does not follow its order");
  const pushes = listenToPushes(page);
  await shot("order-waiting");
  const approved = await phoneApproves(page);
  await page.locator('#outcome[data-outcome="success"]').waitFor({ timeout: 60_000 });
  const shown = Date.now();
  await shot("order-delivered");
  // Nothing reloaded the page: it was drawn again in place, right after its event stream said the order
  // changed; the long poll (for browsers without EventSource) was never asked.
  check(!pushes.some((e) => e.what === "reload"), `the page reloaded: ${JSON.stringify(pushes)}`);
  check(streams.includes(200), `the page did not follow its event stream: ${JSON.stringify(streams)}`);
  check(!pushes.some((e) => e.what.startsWith("status")), `the page long-polled: ${JSON.stringify(pushes)}`);
  log(`pushed: success shown ${((shown - approved) / 1000).toFixed(1)}s after the phone approved, in place; ` +
    `event streams opened: ${JSON.stringify(streams)}; ` +
    `page events: ${pushes.map((e) => `${e.what} +${e.at - approved}ms`).join(", ")}`);
}

// (3b) The same without JavaScript: the <noscript> refresh brings the success state, a few seconds later.
async function withoutScript(page, shot) {
  await waitingOnWeChat(page, "0470 12 34 58");
  const pushes = listenToPushes(page);
  await shot("order-waiting");
  const approved = await phoneApproves(page);
  await page.locator('#outcome[data-outcome="success"]').waitFor({ timeout: 60_000 });
  await shot("order-delivered");
  check(!pushes.some((e) => /^(status|events)/.test(e.what)), "a page without JavaScript asked /status or /events");
  log(`no-js: success shown ${((Date.now() - approved) / 1000).toFixed(1)}s after the phone approved (refresh)`);
}

// (4) Help in Chinese and in French: the questions open, the switcher stays on one line.
async function help(page, shot) {
  await page.goto(`${base}/help?lang=zh-hans`);
  check((await page.locator("html").getAttribute("lang")) === "zh-hans", "help page is not in Chinese");
  check((await page.locator("h1").innerText()).trim() === "常见问题", "Chinese help heading");
  await page.locator("#faq-late summary").click();
  await page.locator("#faq-yuan summary").click();
  await switcherOnOneLine(page);
  await shot("help-zh");
  await page.getByRole("link", { name: "Français" }).click();
  await page.waitForURL(/lang=fr/);
  check((await page.locator("h1").innerText()).trim() === "Questions et réponses", "French help heading");
  await page.locator("#faq-iphone summary").click();
  await footerLinks(page, "/help=Aide /contact=Contact /terms=Conditions /privacy=Confidentialité");
  await shot("help-fr");
}

const journeys = [
  ["home", home], ["topup", topup], ["pushed", pushed], ["no-js", withoutScript, { javaScriptEnabled: false }],
  ["help", help],
];
let failed = 0;
for (const [name, journey, options] of journeys) {
  const started = Date.now();
  try {
    await withBrowser(name, journey, options);
    log(`PASS ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  } catch (error) {
    failed += 1;
    log(`FAIL ${name}: ${error.stack || error}`);
  }
}
log(failed ? `${failed} journey(s) failed` : "all journeys passed");
process.exit(failed ? 1 : 0);
