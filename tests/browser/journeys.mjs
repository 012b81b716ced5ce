// Whole customer journeys in a real browser (Debian's chromium driven by playwright-core) at 360 px.
//
//   node tests/browser/journeys.mjs <base url> <smsc http url> <artifacts dir>
//
// Each step leaves a full-page screenshot under <artifacts dir>/screenshots/. Exit code 0 when every
// journey passed; otherwise the failures are printed and the exit code is 1.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import jsQR from "jsqr";
import { PNG } from "pngjs";

const [base, smscUrl, artifacts] = process.argv.slice(2);
if (!base || !smscUrl || !artifacts) {
  console.error("usage: node tests/browser/journeys.mjs <base url> <smsc http url> <artifacts dir>");
  process.exit(2);
}
const SHOTS = path.join(artifacts, "screenshots");
mkdirSync(SHOTS, { recursive: true });
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const VIEWPORT = { width: 360, height: 780 };
const PHONE = "+32470123456";
const ESIM_EMAIL = "marie.dubois@example.fr"; // tests/e2e/test_browser.py reads her receipt from its SMTP sink

function log(...parts) {
  console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** A fresh browser profile per journey: no cookie, no session and no language left by another one. */
async function withBrowser(name, journey, locale = "en-GB") {
  const profile = mkdtempSync(path.join(tmpdir(), `topup-${name}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: VIEWPORT,
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale,
    timezoneId: "Europe/Brussels",
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()} for ${r.url()}`));
  const blocked = []; // what our Content-Security-Policy refused: a page that needs inline script or style
  page.on("console", (m) => /Content Security Policy/i.test(m.text()) && blocked.push(m.text()));
  let step = 0;
  const shot = async (label) => {
    step += 1;
    const file = path.join(SHOTS, `${name}-${String(step).padStart(2, "0")}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) problems.push(`${path.basename(file)}: page is ${overflow}px wider than the 360px viewport`);
    log(`${name}: ${label} -> ${path.relative(process.cwd(), file)} (${page.url()})`);
  };
  try {
    await journey(page, shot);
    check(!blocked.length, `${name}: blocked by the Content-Security-Policy:\n  ${blocked.join("\n  ")}`);
    if (problems.length) log(`${name}: notes:\n  ${problems.join("\n  ")}`);
  } catch (error) {
    try {
      await shot("FAILED");
      writeFileSync(path.join(SHOTS, `${name}-FAILED.html`), await page.content());
    } catch {
      // the page may be gone with the browser
    }
    if (problems.length) error.message += `\n  ${problems.join("\n  ")}`;
    throw error;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The order page refreshes itself every few seconds: read it again until its machine status is `status`. */
async function waitForOrderStatus(page, status, words, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  let seen = "";
  while (Date.now() < deadline) {
    try {
      const el = page.locator("#status-words");
      seen = `${await el.getAttribute("data-status", { timeout: 2_000 })} / ${await el.innerText({ timeout: 2_000 })}`;
      if (seen.startsWith(`${status} /`)) {
        check(seen.includes(words), `order status reads "${seen}", expected the words "${words}"`);
        return;
      }
    } catch (error) {
      if (error.message.startsWith("order status reads")) throw error;
      // the page was reloading; read it again
    }
    await page.waitForTimeout(500);
  }
  throw new Error(`order did not reach "${status}" within ${timeoutMs / 1000}s (last seen: ${seen || "nothing"})`);
}

// The payment simulator's hosted pages in the buyer's language (Stripe Checkout's `locale`, from the order's
// language): their words, and the English a page in another language must not show.
const CHECKOUT_WORDS = {
  zh: { lang: "zh-Hans", number: "卡号", expiry: "有效期", cvc: "安全码", pay: /^支付 /, approve: "确认付款" },
  fr: { lang: "fr", number: "Numéro de carte", expiry: "Date d'expiration", cvc: "CVC", pay: /^Payer /, approve: "Approuver" },
};
const CHECKOUT_ENGLISH = ["Card number", "Expiry", "Pay ", "Cancel", "Approve", "Decline", "Payment", "Waiting",
  "Simulated", "your", "Your", "Card"];

/** The hosted page is in `words`' language: its <html lang> and none of the English words. */
async function checkoutSpeaks(page, words, where) {
  check((await page.locator("html").getAttribute("lang")) === words.lang,
    `the ${where} page is not in ${words.lang}: lang=${await page.locator("html").getAttribute("lang")}`);
  const text = await page.locator("body").innerText();
  const english = CHECKOUT_ENGLISH.filter((word) => text.includes(word));
  check(!english.length, `English on the ${words.lang} ${where} page: ${english.join(", ")}\n${text}`);
}

async function payOnCheckout(page, shot, words) {
  await page.waitForURL(/\/checkout\//);
  if (/\/checkout\/cs_/.test(page.url())) {
    // A card: Stripe Checkout's page takes it; this test card then asks for the 3-D Secure challenge.
    await checkoutSpeaks(page, words, "checkout");
    await page.getByLabel(words.number).fill("4000 0025 0000 3155");
    await page.getByLabel(words.expiry).fill("12 / 34");
    await page.getByLabel(words.cvc).fill("123");
    await shot("checkout-card");
    await page.getByRole("button", { name: words.pay }).click();
    await page.waitForURL(/\/checkout\/pi_/);
  }
  await page.getByRole("button", { name: words.approve }).waitFor();
  await checkoutSpeaks(page, words, "3-D Secure");
  await shot("checkout");
  await page.getByRole("button", { name: words.approve }).click();
  await page.waitForURL(/\/orders\//);
}

function decodeQr(pngBytes) {
  const png = PNG.sync.read(pngBytes);
  const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
  return code ? code.data : null;
}

// (1) Top up a Proximus number in Chinese, pay on the simulator's checkout, wait until delivered.
async function topupInChinese(page, shot) {
  await page.goto(`${base}/`);
  await shot("home");
  await page.getByRole("navigation").getByRole("link", { name: "简体中文" }).click();
  await page.waitForURL(/lang=zh-hans/);
  check((await page.locator("html").getAttribute("lang")) === "zh-hans", "page language is not zh-hans");
  await shot("home-zh");
  await page.getByRole("link", { name: "给号码充值" }).click();
  await page.waitForURL(/\/topup$/);
  await page.getByLabel("手机号码").fill("0470 12 34 56");
  await shot("number");
  await page.getByRole("button", { name: "继续" }).click();
  await page.waitForURL(/\/topup\/network/);
  const network = page.getByLabel("运营商");
  await network.selectOption({ label: "Proximus" });
  await shot("network");
  await page.getByRole("button", { name: "继续" }).click();
  await page.waitForURL(/\/topup\/plans/);
  await page.locator("button.plan").first().waitFor();
  await shot("plans");
  const plan = page.locator("button.plan").filter({ hasText: "话费" }).filter({ hasText: /€\s?10[.,]00/ });
  check((await plan.count()) === 1, `expected one €10 credit plan, found ${await plan.count()}`);
  await plan.click();
  await page.waitForURL(/\/topup\/review/);
  await shot("review");
  // A card, paid on Stripe Checkout's page: the order's language goes with it (locale "zh"), so the page is
  // Chinese although this browser asks for English.
  await page.getByRole("radio", { name: "银行卡" }).check();
  await page.getByRole("button", { name: "立即支付" }).click();
  await payOnCheckout(page, shot, CHECKOUT_WORDS.zh);
  await shot("order-waiting");
  await waitForOrderStatus(page, "delivered", "完成");
  await shot("order-delivered");
}

// (4) Top up an Orange Belgium number (the demo routes Orange through the DT One aggregator) in Chinese with
// WeChat Pay: the review shows the yuan amount with its rate, source and date; the
// order page shows WeChat Pay's QR code (it must fit 360 px and decode to the payment's data) and the yuan
// amount; the simulator's hosted page stands in for the phone's scan.
async function wechatInChinese(page, shot) {
  await page.goto(`${base}/?lang=zh-hans`);
  await page.getByRole("link", { name: "给号码充值" }).click();
  await page.waitForURL(/\/topup$/);
  await page.getByLabel("手机号码").fill("0495 12 34 58"); // Orange Belgium: through DT One in the demo
  await page.getByRole("button", { name: "继续" }).click();
  await page.waitForURL(/\/topup\/network/);
  await page.getByLabel("运营商").selectOption({ label: "Orange Belgium" });
  await page.getByRole("button", { name: "继续" }).click();
  await page.waitForURL(/\/topup\/plans/);
  const plan = page.locator("button.plan").filter({ hasText: "话费" }).filter({ hasText: /€\s?10[.,]00/ });
  await plan.click();
  await page.waitForURL(/\/topup\/review/);
  const yuan = (await page.locator("#fx-wechat_pay").innerText()).trim();
  check(/¥\s?\d+[.,]\d\d/.test(yuan) && yuan.includes("欧洲央行") && /\d{4}年/.test(yuan),
    `review shows no yuan amount with rate, source and date for WeChat Pay: ${JSON.stringify(yuan)}`);
  await page.getByRole("radio", { name: /微信支付/ }).check();
  await shot("review-wechat");
  await page.getByRole("button", { name: "立即支付" }).click();
  await page.waitForURL(/\/orders\//);
  const box = page.locator(".pay-qr-box");
  await box.waitFor();
  await shot("order-qr");
  const steps = (await page.locator("#wechat-steps").innerText()).trim();
  check(steps.includes("扫一扫"), `WeChat instructions not in Chinese: ${JSON.stringify(steps)}`);
  const shown = (await page.locator("#fx").innerText()).trim();
  check(shown.includes("¥") && shown.includes("欧洲央行"), `order page shows no yuan amount: ${JSON.stringify(shown)}`);
  const size = await box.boundingBox();
  check(size && size.x >= 0 && size.x + size.width <= 360 && size.width >= 160,
    `QR code does not fit a 360 px screen: ${JSON.stringify(size)}`);
  const scanned = decodeQr(await box.screenshot({ path: path.join(SHOTS, "wechat-zh-qr-element.png") }));
  check(scanned && scanned.startsWith("weixin://"), `QR on screen decodes to ${JSON.stringify(scanned)}`);
  const orderUrl = page.url();
  // The phone scans the code and pays: the simulator's hosted page stands in for WeChat.
  const instructions = await page.locator("#wechat-instructions").getAttribute("href");
  check(instructions, "no link to WeChat Pay's instructions");
  // The code on our page is the payment's own: the one Stripe (the simulator) gives for this PaymentIntent.
  const intentId = new URL(instructions).pathname.split("/").pop();
  const stripeQr = await fetch(new URL(`/qr/${intentId}.png`, instructions));
  const expected = decodeQr(Buffer.from(await stripeQr.arrayBuffer()));
  check(expected && scanned === expected,
    `QR on screen ${JSON.stringify(scanned)} is not payment ${intentId}'s ${JSON.stringify(expected)}`);
  await page.goto(instructions);
  // A PaymentIntent has no locale at Stripe: WeChat Pay's page follows this Chinese phone's language.
  await page.getByRole("button", { name: CHECKOUT_WORDS.zh.approve }).waitFor();
  await checkoutSpeaks(page, CHECKOUT_WORDS.zh, "WeChat Pay");
  const drawn = await page.locator("#qr").evaluate((img) => (img.complete ? Promise.resolve() : new Promise((ok) => {
    img.addEventListener("load", ok, { once: true });
    img.addEventListener("error", ok, { once: true });
  })).then(() => img.naturalWidth));
  check(drawn > 0, "the WeChat Pay page's QR image does not load");
  await shot("wechat-scan");
  await page.getByRole("button", { name: CHECKOUT_WORDS.zh.approve }).click();
  await page.goto(orderUrl);
  await waitForOrderStatus(page, "delivered", "完成");
  await shot("order-delivered");
  log(`wechat-zh: QR ${scanned.slice(0, 40)}..., ${shown}`);
}

// Dutch month names (those French spells otherwise) and Dutch day-month-year with dashes ("5-12-2026").
const DUTCH_DATE = /\b(januari|februari|maart|mei|juni|juli|augustus|oktober)\b|\b\d{1,2}-\d{1,2}-\d{4}\b/i;

/** A French page writes its dates in French: no Dutch month and no Dutch numeric date anywhere on it. */
async function frenchDatesOnly(page, where) {
  const text = await page.locator("body").innerText();
  const dutch = text.match(DUTCH_DATE);
  check(!dutch, `a Dutch date on the French ${where} page: ${dutch?.[0]}`);
}

// (2) Buy an eSIM in French up to the order page; its QR code must carry the activation code shown.
async function esimInFrench(page, shot) {
  await page.goto(`${base}/`);
  await page.getByRole("navigation").getByRole("link", { name: "Français" }).click();
  await page.waitForURL(/lang=fr/);
  await shot("home-fr");
  await page.getByRole("link", { name: "Obtenir une eSIM" }).click();
  await page.waitForURL(/\/esim$/);
  await shot("plans");
  await page.locator("button.plan").first().click();
  await page.waitForURL(/\/esim\/review/);
  await shot("review");
  await frenchDatesOnly(page, "review"); // the yuan rate's date and its end are on it
  // A new eSIM needs an e-mail address: its QR code and receipt are sent there (read back by test_browser.py).
  await page.getByLabel("Adresse e-mail", { exact: true }).fill(ESIM_EMAIL);
  await page.getByRole("radio", { name: /Carte/ }).check();
  await shot("review-filled");
  await page.getByRole("button", { name: "Payer maintenant" }).click();
  await payOnCheckout(page, shot, CHECKOUT_WORDS.fr);
  const orderId = new URL(page.url()).pathname.split("/").filter(Boolean).pop();
  await waitForOrderStatus(page, "delivered", "Terminé");
  const qr = page.getByRole("img", { name: "Code QR de votre eSIM" });
  await qr.waitFor();
  await qr.evaluate((img) => img.complete || new Promise((ok) => img.addEventListener("load", ok, { once: true })));
  await shot("order-delivered");
  await frenchDatesOnly(page, "order");
  const history = await page.locator("time").allInnerTexts();
  check(history.length >= 5 && history.every((at) => /^\d{1,2}\/\d{1,2}\/\d{2} \d{2}:\d{2}$/.test(at)),
    `the order's history is not dated as French writes it (5/12/26 08:30): ${history.join(" | ")}`);
  const activation = (await page.locator("#esim p:has(> strong) > code").first().innerText()).trim();
  check(activation.startsWith("LPA:1$"), `activation code on the page looks wrong: ${JSON.stringify(activation)}`);

  const answer = await page.request.get(`${base}/api/v1/esim/orders/${orderId}/qr.png`);
  check(answer.ok(), `qr.png answered ${answer.status()}`);
  const fromPng = decodeQr(await answer.body());
  check(fromPng === activation, `qr.png decodes to ${JSON.stringify(fromPng)}, page shows ${JSON.stringify(activation)}`);

  await qr.scrollIntoViewIfNeeded();
  const fromScreen = decodeQr(await qr.screenshot({ path: path.join(SHOTS, "esim-fr-qr-element.png") }));
  check(fromScreen === activation, `QR on screen decodes to ${JSON.stringify(fromScreen)}, page shows ${JSON.stringify(activation)}`);
  log(`esim-fr: order ${orderId}: QR (png and on screen) = activation code ${activation}`);
}

async function inbox(since) {
  const answer = await fetch(`${smscUrl}/phones/${PHONE}/inbox?since=${since}`);
  check(answer.ok, `SMSC inbox answered ${answer.status}`);
  return answer.json();
}

// (3) Sign in on "My line" in Dutch with the one-time code the SMSC simulator's phone received.
async function myLineInDutch(page, shot) {
  await page.goto(`${base}/`);
  await page.getByRole("navigation").getByRole("link", { name: "Nederlands" }).click();
  await page.waitForURL(/lang=nl/);
  await shot("home-nl");
  await page.getByRole("link", { name: "Aanmelden met een code per sms" }).click();
  await page.waitForURL(/\/my$/);
  await page.getByLabel("Gsm-nummer").fill("0470 12 34 56");
  await shot("sign-in");
  const before = (await inbox(0)).last_seq ?? 0;
  await page.getByRole("button", { name: "Stuur mij een code" }).click();
  await page.waitForURL(/\/my\/code/);
  await shot("code-page");
  let code = null;
  const deadline = Date.now() + 30_000;
  while (!code && Date.now() < deadline) {
    const messages = (await inbox(before)).messages.filter((m) => m.direction === "mt");
    const last = messages.at(-1);
    code = last?.text.match(/\b(\d{6})\b/)?.[1] ?? null;
    if (!code) await new Promise((ok) => setTimeout(ok, 500));
  }
  check(code, "no SMS with a 6-digit code reached +32470123456 within 30s");
  log(`my-nl: code ${code} arrived by SMS`);
  await page.getByLabel("Code", { exact: true }).fill(code);
  await page.getByRole("button", { name: "Aanmelden", exact: true }).click();
  await page.waitForURL(/\/my$/);
  await page.getByText("Beltegoed", { exact: true }).waitFor();
  const balance = (await page.locator("p.big").innerText()).trim();
  check(/\d/.test(balance) && balance.includes("€"), `balance looks wrong: ${JSON.stringify(balance)}`);
  await shot("my-line");
  log(`my-nl: balance ${balance}`);
}

const journeys = [
  ["topup-zh", topupInChinese],
  ["wechat-zh", wechatInChinese, "zh-CN"],
  ["esim-fr", esimInFrench],
  ["my-nl", myLineInDutch],
];
const only = process.env.JOURNEYS ? process.env.JOURNEYS.split(",") : null;
let failed = 0;
for (const [name, journey, locale] of journeys) {
  if (only && !only.includes(name)) continue;
  const started = Date.now();
  try {
    await withBrowser(name, journey, locale);
    log(`PASS ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  } catch (error) {
    failed += 1;
    log(`FAIL ${name}: ${error.stack || error}`);
  }
}
log(failed ? `${failed} journey(s) failed` : "all journeys passed");
process.exit(failed ? 1 : 0);
