// My eSIMs in a real browser (Debian's chromium driven by playwright-core) at 360 px, in Chinese.
//
//   node tests/browser/myesim.mjs <base url> <mail folder> <artifacts dir> <e-mail> <order id> <pay url>
//
// The eSIM was ordered through the API with <e-mail>; this pays it on the simulator's checkout, waits for
// delivery, signs in to My eSIMs with the code e-mailed (the SMTP sink writes each message as JSON into
// <mail folder>), checks the eSIM, its bundle bar and its QR code, and adds data up to the review for that
// ICCID. Screenshots: <artifacts dir>/screenshots/myesim-*.png. Exit code 0 when the journey passed.
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import jsQR from "jsqr";
import { PNG } from "pngjs";

const [base, mailDir, artifacts, email, orderId, payUrl] = process.argv.slice(2);
if (!base || !mailDir || !artifacts || !email || !orderId || !payUrl) {
  console.error("usage: node tests/browser/myesim.mjs <base> <mail folder> <artifacts> <e-mail> <order id> <pay url>");
  process.exit(2);
}
const SHOTS = path.join(artifacts, "screenshots");
mkdirSync(SHOTS, { recursive: true });
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

function log(...parts) {
  console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function decodeQr(pngBytes) {
  const png = PNG.sync.read(pngBytes);
  const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
  return code ? code.data : null;
}

/** Latin words of three letters or more: none may show in the Chinese bars, dates and states. */
function latinWords(text) {
  return (text.match(/[A-Za-zÀ-ÿ]{3,}/g) || []).filter((w) => w !== "ICCID" && w !== "eSIM");
}

async function waitForCode(since) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    for (const name of readdirSync(mailDir).filter((n) => n.endsWith(".json")).sort()) {
      if (since.has(name)) continue;
      const mail = JSON.parse(readFileSync(path.join(mailDir, name), "utf-8"));
      const code = mail.text.match(/\b(\d{6})\b/)?.[1];
      if (mail.to === email && code && mail.subject.includes("我的 eSIM")) return { code, mail };
    }
    await new Promise((ok) => setTimeout(ok, 300));
  }
  throw new Error(`no e-mail with a 6-digit code reached ${email} within 30s`);
}

async function journey(page, shot, problems) {
  // 1. Pay the order the app placed, on the simulator's checkout, and wait for the eSIM.
  await page.goto(payUrl);
  if (/\/checkout\/cs_/.test(page.url())) {
    await page.getByLabel("Card number").fill("4242 4242 4242 4242");
    await page.getByLabel("Expiry").fill("12 / 34");
    await page.getByLabel("CVC").fill("123");
    await page.getByRole("button", { name: /^Pay / }).click();
  }
  const approve = page.getByRole("button", { name: "Approve" });
  if (await approve.isVisible({ timeout: 10_000 }).catch(() => false)) {
    await shot("checkout");
    await approve.click();
  }
  await page.waitForURL(/\/orders\//, { timeout: 30_000 });
  const deadline = Date.now() + 90_000;
  while ((await page.locator("#status-words").getAttribute("data-status").catch(() => "")) !== "delivered") {
    check(Date.now() < deadline, "the eSIM order was not delivered within 90s");
    await page.waitForTimeout(1000);
    await page.reload().catch(() => {});
  }
  await shot("order-delivered");

  // 2. My eSIMs from the Chinese home page.
  await page.goto(`${base}/?lang=zh-hans`);
  check((await page.locator("html").getAttribute("lang")) === "zh-hans", "page language is not zh-hans");
  await shot("home-zh");
  await page.getByRole("link", { name: "通过邮件验证码登录" }).click();
  await page.waitForURL(/\/my\/esims$/);
  await page.getByLabel("邮箱地址").fill(email);
  await shot("sign-in");
  const seen = new Set(readdirSync(mailDir));
  await page.getByRole("button", { name: "发送验证码" }).click();
  await page.waitForURL(/\/my\/esims\/code$/);
  await shot("code-page");
  const { code, mail } = await waitForCode(seen);
  log(`myesim: code ${code} arrived by e-mail: ${JSON.stringify(mail.subject)}`);
  check(!latinWords(mail.text.replace(/My eSIMs/g, "")).length, `the code e-mail is not all Chinese: ${mail.text}`);
  await page.getByLabel("验证码", { exact: true }).fill(code);
  await page.getByRole("button", { name: "登录", exact: true }).click();
  await page.waitForURL(/\/my\/esims$/);

  // 3. The eSIM: its state, bundle bar with text, dates in Chinese, the QR code again (not installed yet).
  const esim = page.locator("section.esim").first();
  await esim.waitFor();
  const iccid = (await esim.locator(".iccid").innerText()).trim();
  check(/^89\d{16,18}$/.test(iccid), `no ICCID shown: ${JSON.stringify(iccid)}`);
  const bar = esim.locator("progress").first();
  check((await bar.getAttribute("max")) === "100", "no bundle bar");
  const words = [
    await esim.locator(".esim-state").innerText(),
    await esim.locator(".bundle-left").first().innerText(),
    await esim.locator(".bundle-dates").first().innerText(),
    await esim.locator(".usage").innerText(),
  ].join(" | ");
  check(/GB/.test(words) && /%/.test(words), `bundle text has no amounts: ${words}`);
  check(!latinWords(words).length, `English or Dutch words in the Chinese eSIM: ${latinWords(words)} in ${words}`);
  const qr = esim.getByRole("img", { name: "您的 eSIM 二维码" });
  await qr.waitFor();
  await qr.evaluate((img) => img.complete || new Promise((ok) => img.addEventListener("load", ok, { once: true })));
  await shot("my-esims");
  const activation = (await esim.locator("code.copy").innerText()).trim();
  await qr.scrollIntoViewIfNeeded();
  const scanned = decodeQr(await qr.screenshot({ path: path.join(SHOTS, "myesim-qr-element.png") }));
  check(activation.startsWith("LPA:1$") && scanned === activation,
    `QR decodes to ${JSON.stringify(scanned)}, page shows ${JSON.stringify(activation)}`);
  log(`myesim: ${iccid}: ${words}; QR = ${activation}`);

  // 4. Add data: the eSIM top-up journey for that ICCID, up to the review with its price.
  await esim.getByRole("link", { name: "添加数据" }).click();
  await page.waitForURL(/\/esim\/topup\/plans$/);
  await page.locator("button.plan").first().waitFor();
  await shot("add-data-plans");
  check((await page.locator(".iccid").innerText()).trim() === iccid, "the plans page is not for this eSIM");
  await page.locator("button.plan").first().click();
  await page.waitForURL(/\/esim\/topup\/review$/);
  check((await page.locator("#review-iccid").innerText()).includes(iccid), "the review is not for this eSIM");
  const total = (await page.locator("tr.total td").innerText()).trim();
  check(/€/.test(total), `no total on the review: ${JSON.stringify(total)}`);
  await shot("add-data-review");
  log(`myesim: add data for ${iccid}: total ${total}`);
  check(!problems.some((p) => p.includes("page is")), problems.join("\n"));
}

const profile = mkdtempSync(path.join(tmpdir(), "topup-myesim-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 360, height: 780 },
  deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN", timezoneId: "Europe/Brussels",
});
context.setDefaultTimeout(15_000);
const page = context.pages()[0] ?? (await context.newPage());
const problems = [];
page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
let step = 0;
const shot = async (label) => {
  step += 1;
  const file = path.join(SHOTS, `myesim-${String(step).padStart(2, "0")}-${label}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) problems.push(`${path.basename(file)}: page is ${overflow}px wider than the 360px viewport`);
  log(`myesim: ${label} -> ${path.relative(process.cwd(), file)} (${page.url()})`);
};
let failed = false;
try {
  await journey(page, shot, problems);
  log("PASS myesim");
} catch (error) {
  failed = true;
  try {
    await shot("FAILED");
    writeFileSync(path.join(SHOTS, "myesim-FAILED.html"), await page.content());
  } catch {
    // the page may be gone
  }
  log(`FAIL myesim: ${error.stack || error}\n  ${problems.join("\n  ")}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
