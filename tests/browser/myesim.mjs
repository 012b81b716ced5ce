// A Chinese buyer's eSIM in a real browser (Debian's chromium driven by playwright-core) at 360 px.
//
//   node tests/browser/myesim.mjs <base url> <mail folder> <artifacts dir> <e-mail>
//
// The buyer gets an eSIM on the website in Chinese (a plan, <e-mail> on the review, a card on the payment
// simulator's checkout) and waits on the order page until it is delivered. The receipt e-mail reaches the SMTP
// sink, which writes each message as JSON into <mail folder> with its inline images and PDF attachments next
// to it: the PDF must be a PDF, the inline QR code must decode to the activation code the order page shows and
// the words must be Chinese. Then the buyer signs in to My eSIMs with the code e-mailed, checks the eSIM, its
// bundle bar and its QR code, and adds data up to the review for that ICCID. Every page of ours must be in
// Chinese and fit 360 px. Screenshots: <artifacts dir>/screenshots/myesim-*.png. Exit code 0 when it passed.
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import jsQR from "jsqr";
import { PNG } from "pngjs";

const [base, mailDir, artifacts, email] = process.argv.slice(2);
if (!base || !mailDir || !artifacts || !email) {
  console.error("usage: node tests/browser/myesim.mjs <base url> <mail folder> <artifacts dir> <e-mail>");
  process.exit(2);
}
const SHOTS = path.join(artifacts, "screenshots");
mkdirSync(SHOTS, { recursive: true });
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const RECEIPT_SUBJECT = "您的 eSIM 已准备就绪"; // "Your eSIM is ready"
const QR_CID = "esim-qr@topup";

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

/** Names and terms that stay as they are in Chinese: the brand, networks, devices, payment methods and the
 * eSIM's technical terms. The seller's name and address (the receipt's legal header) are names too. */
const NAMES = ["Orange Belgium", "Proximus", "Telenet", "BASE", "Topup", "eSIMs", "eSIM",
  "ICCID", "EID", "SIM", "LPA", "APN", "SM-DP+", "iPhone", "Android", "Visa", "Mastercard", "Bancontact", "PDF",
  "Stripe", "3-D Secure", // the payment simulator's Chinese pages keep the brand and the card scheme's check
  ...(process.env.SHOP_SELLER || "").split(";").filter(Boolean)].sort((a, b) => b.length - a.length);

/** Latin words of three letters or more once names, links, host names and identifiers (a token with a
 * digit: order id, matching id, VAT number) are out: none may show on a Chinese page or in a Chinese e-mail. */
function latinWords(text) {
  let words = text;
  for (const name of NAMES) words = words.replaceAll(name, " ");
  words = words.replace(/https?:\/\/\S+/g, " ").replace(/\b[\w-]+(\.[\w-]+)+\b/g, " ")
    .replace(/[\w-]*\d[\w-]*/g, " ");
  return words.match(/[A-Za-zÀ-ÿ]{3,}/g) || [];
}

/** The words a person reads on the page: without its <code> elements and the two-letter language switch. */
async function pageWords(page) {
  return page.evaluate(() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll("code, script, style, nav.langs").forEach((el) => el.remove());
    return body.textContent;
  });
}

/** The messages the sink wrote so far, oldest first, each with the name of its JSON file. */
function mails() {
  return readdirSync(mailDir).filter((n) => n.endsWith(".json")).sort()
    .map((name) => ({ name, ...JSON.parse(readFileSync(path.join(mailDir, name), "utf-8")) }));
}

async function waitForMail(what, matches, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = mails().find(matches);
    if (found) return found;
    await new Promise((ok) => setTimeout(ok, 300));
  }
  const seen = JSON.stringify(mails().map((m) => [m.to, m.subject]));
  throw new Error(`no ${what} reached ${email} within ${timeoutMs / 1000}s (the sink has ${seen})`);
}

async function waitForCode(since) {
  const mail = await waitForMail("e-mail with a 6-digit code", (m) => !since.has(m.name) && m.to === email
    && m.subject.includes("我的 eSIM") && /\b\d{6}\b/.test(m.text), 30_000);
  return { code: mail.text.match(/\b(\d{6})\b/)[1], mail };
}

/** The order page refreshes itself every few seconds: read it until its machine status is `status`. */
async function waitForOrderStatus(page, status, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  let seen = "";
  while (Date.now() < deadline) {
    seen = await page.locator("#status-words").getAttribute("data-status", { timeout: 2_000 }).catch(() => seen);
    if (seen === status) return;
    await page.waitForTimeout(500);
  }
  throw new Error(`the order did not reach "${status}" within ${timeoutMs / 1000}s (last seen: ${seen || "nothing"})`);
}

/** The payment simulator stands in for Stripe, in the order's language (Checkout's `locale` "zh"):
 * Checkout takes the card, whose bank then asks for the 3-D Secure challenge the buyer approves. */
async function payByCard(page, shot) {
  await page.waitForURL(/\/checkout\/cs_/);
  check((await page.locator("html").getAttribute("lang")) === "zh-Hans", "the checkout page is not Chinese");
  await page.getByLabel("卡号").fill("4000 0025 0000 3155");
  await page.getByLabel("有效期").fill("12 / 34");
  await page.getByLabel("安全码").fill("123");
  await shot("checkout-card");
  await page.getByRole("button", { name: /^支付 / }).click();
  await page.waitForURL(/\/checkout\/pi_/);
  await page.getByRole("button", { name: "确认付款" }).waitFor();
  await shot("checkout-approve");
  await page.getByRole("button", { name: "确认付款" }).click();
  await page.waitForURL(/\/orders\//, { timeout: 30_000 });
}

async function buyOnTheWebsite(page, shot) {
  await page.goto(`${base}/?lang=zh-hans`);
  check((await page.locator("html").getAttribute("lang")) === "zh-hans", "page language is not zh-hans");
  await shot("home-zh");
  await page.getByRole("link", { name: "购买 eSIM" }).click();
  await page.waitForURL(/\/esim$/);
  const plan = page.locator("button.plan").first();
  await plan.waitFor();
  await shot("plans");
  const planWords = (await plan.innerText()).replace(/\s+/g, " ").trim();
  await plan.click();
  await page.waitForURL(/\/esim\/review$/);
  await shot("review");
  // A new eSIM needs an e-mail address: the browser asks for it, and past the browser the server does.
  const field = page.getByLabel("邮箱地址", { exact: true });
  check((await field.getAttribute("required")) !== null, "the e-mail field of a new eSIM is not required");
  await page.getByRole("radio", { name: "银行卡" }).check();
  await field.evaluate((input) => input.removeAttribute("required"));
  const refused = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/esim/review"));
  await page.getByRole("button", { name: "立即支付" }).click();
  check((await refused).status() === 422, `the review without an address answered ${(await refused).status()}`);
  await page.locator("#email-error").waitFor();
  check(page.url().endsWith("/esim/review"), `paid without an e-mail address: ${page.url()}`);
  const missing = (await page.locator("#email-error").innerText()).trim();
  check(/[\u4e00-\u9fff]/.test(missing) && !latinWords(missing).length,
    `the missing address is not said in Chinese: ${JSON.stringify(missing)}`);
  await shot("review-no-email");
  await field.fill(email);
  await page.getByRole("radio", { name: "银行卡" }).check();
  await shot("review-filled");
  await page.getByRole("button", { name: "立即支付" }).click();
  await payByCard(page, shot);
  const orderId = new URL(page.url()).pathname.split("/").filter(Boolean).pop();
  await shot("order-waiting");
  await waitForOrderStatus(page, "delivered");
  const qr = page.getByRole("img", { name: "您的 eSIM 二维码" });
  await qr.waitFor();
  await qr.evaluate((img) => img.complete || new Promise((ok) => img.addEventListener("load", ok, { once: true })));
  await shot("order-delivered");
  check((await page.locator("#order-number").innerText()).trim() === orderId, "the order page shows another order");
  const activation = (await page.locator("#esim p:has(> strong) > code").first().innerText()).trim();
  check(activation.startsWith("LPA:1$"), `activation code on the order page looks wrong: ${JSON.stringify(activation)}`);
  const iccid = (await page.locator("#esim p.muted").last().innerText()).replace("ICCID", "").trim();
  check(/^89\d{16,18}$/.test(iccid), `no ICCID on the order page: ${JSON.stringify(iccid)}`);
  log(`myesim: order ${orderId} (${planWords}) delivered: ICCID ${iccid}, ${activation}`);
  return { orderId, activation, iccid };
}

/** The receipt e-mail: to that address, in Chinese, its PDF attached, its inline QR code = the page's code. */
async function checkReceipt(page, shot, { orderId, activation, iccid }) {
  const receipt = await waitForMail("receipt e-mail", (m) => m.to === email && m.subject === RECEIPT_SUBJECT, 60_000);
  log(`myesim: receipt ${receipt.name}: ${JSON.stringify(receipt.subject)}, images ${
    JSON.stringify(receipt.images)}, PDFs ${JSON.stringify(receipt.pdfs)}`);
  check(receipt.pdfs.length === 1, `the receipt has ${receipt.pdfs.length} PDF attachment(s)`);
  const pdf = readFileSync(path.join(mailDir, receipt.pdfs[0]));
  check(pdf.subarray(0, 5).toString("latin1") === "%PDF-", `the attached receipt is no PDF: ${pdf.subarray(0, 8)}`);
  const inline = receipt.images.find((image) => image.cid === QR_CID);
  check(inline, `no inline QR image (cid ${QR_CID}) in the receipt: ${JSON.stringify(receipt.images)}`);
  check(receipt.html.includes(`src="cid:${QR_CID}"`), "the receipt's HTML does not show its inline QR image");
  const mailed = decodeQr(readFileSync(path.join(mailDir, inline.file)));
  check(mailed === activation, `the e-mailed QR decodes to ${JSON.stringify(mailed)}, the order page shows ${
    JSON.stringify(activation)}`);
  for (const [part, words] of [["text", receipt.text], ["HTML", receipt.html]]) {
    check(words.includes(activation), `the receipt's ${part} does not print the activation code`);
    check(words.includes(iccid), `the receipt's ${part} does not name ICCID ${iccid}`);
    // An eSIM without a number is followed on My eSIMs; My line would ask for a number it does not have.
    check(words.includes(`${base}/my/esims`) && !words.includes(`${base}/my<`) && !/\/my(\s|$)/.test(words),
      `the receipt's ${part} does not send the eSIM to ${base}/my/esims`);
  }
  const matchingId = activation.split("$")[2];
  const strip = (words) => words.replaceAll(activation, " ").replaceAll(matchingId, " ").replaceAll(orderId, " ");
  const htmlWords = receipt.html.replace(/<(head|style)\b[^]*?<\/\1>/gi, " ").replace(/<[^>]*>/g, " ")
    .replace(/&(#\d+|[a-z]+);/gi, " ");
  for (const [part, words] of [["subject", receipt.subject], ["text", receipt.text], ["HTML", htmlWords]]) {
    const english = latinWords(strip(words));
    check(!english.length, `English words in the receipt's ${part}: ${english.join(", ")}\n${words}`);
  }
  // As a phone's mail app shows it: 360 px wide, the inline QR code in its place, nothing wider.
  const qrData = `data:image/png;base64,${readFileSync(path.join(mailDir, inline.file)).toString("base64")}`;
  const view = await page.context().newPage();
  try {
    await view.setContent(receipt.html.replaceAll(`cid:${QR_CID}`, qrData));
    await shot("receipt-email", { on: view });
  } finally {
    await view.close();
  }
  log(`myesim: receipt: PDF ${pdf.length} bytes, inline QR ${inline.file} = ${mailed}`);
}

async function journey(page, shot) {
  // 1. Buy an eSIM on the website in Chinese and wait on the order page until it is delivered.
  const bought = await buyOnTheWebsite(page, shot);

  // 2. The receipt e-mail the SMTP sink received.
  await checkReceipt(page, shot, bought);

  // 3. My eSIMs from the Chinese home page, signing in with the code e-mailed.
  await page.getByRole("link", { name: "Topup", exact: true }).click();
  await page.waitForURL(`${base}/`);
  check((await page.locator("html").getAttribute("lang")) === "zh-hans", "the home page forgot the language");
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

  // 4. The eSIM: its state, bundle bar with text, dates in Chinese, the QR code again (not installed yet).
  const esim = page.locator("section.esim").first();
  await esim.waitFor();
  const iccid = (await esim.locator(".iccid").innerText()).trim();
  check(iccid === bought.iccid, `My eSIMs shows ${JSON.stringify(iccid)}, the order delivered ${bought.iccid}`);
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
  check(activation === bought.activation, `My eSIMs shows ${activation}, the order page ${bought.activation}`);
  await qr.scrollIntoViewIfNeeded();
  const scanned = decodeQr(await qr.screenshot({ path: path.join(SHOTS, "myesim-qr-element.png") }));
  check(scanned === activation, `QR decodes to ${JSON.stringify(scanned)}, page shows ${JSON.stringify(activation)}`);
  log(`myesim: ${iccid}: ${words}; QR = ${activation}`);

  // 5. Add data: the eSIM top-up journey for that ICCID, up to the review with its price.
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
const refusal = (r) => r.status() === 422 && r.request().method() === "POST"; // a form shown again with its errors
page.on("response", (r) => r.status() >= 400 && !refusal(r) && problems.push(`HTTP ${r.status()} for ${r.url()}`));
let step = 0;
/** A full-page screenshot; our pages and the payment simulator's must be Chinese and fit 360 px. */
const shot = async (label, { ours = true, on = page } = {}) => {
  step += 1;
  const file = path.join(SHOTS, `myesim-${String(step).padStart(2, "0")}-${label}.png`);
  await on.screenshot({ path: file, fullPage: true });
  const overflow = await on.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) problems.push(`${path.basename(file)}: page is ${overflow}px wider than the 360px viewport`);
  if (ours) {
    const english = latinWords(await pageWords(on));
    if (english.length) problems.push(`${path.basename(file)}: English on a Chinese page: ${english.join(", ")}`);
  }
  log(`myesim: ${label} -> ${path.relative(process.cwd(), file)} (${on.url()})`);
};
let failed = false;
try {
  await journey(page, shot);
  check(!problems.length, `the pages had problems:\n  ${problems.join("\n  ")}`);
  log("PASS myesim");
} catch (error) {
  failed = true;
  try {
    await shot("FAILED", { ours: false });
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
