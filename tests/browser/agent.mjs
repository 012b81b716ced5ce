// The agent console in a real browser (Debian's chromium driven by playwright-core) at a desk's 1280 px.
//
//   node tests/browser/agent.mjs <base url> <artifacts dir> <agents json>
//
// <agents json>: {"agent": {"username", "password", "secret"}, "supervisor": {...}} as `topup agents
// create` made them. An agent signs in with TOTP (the code is computed here, RFC 6238), finds a customer
// by "0470 12 34 56", records the identity check and sells an eSIM for cash, asks for a refund above their
// limit; a supervisor (a second browser context, in Chinese) approves it; the audit log shows every step.
// Screenshots go to <artifacts dir>/screenshots/agent-*.png. Exit code 0 when the journey passed.
import { createHmac } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import jsQR from "jsqr";
import { PNG } from "pngjs";

const [base, artifacts, agentsJson] = process.argv.slice(2);
if (!base || !artifacts || !agentsJson) {
  console.error("usage: node tests/browser/agent.mjs <base url> <artifacts dir> <agents json>");
  process.exit(2);
}
const AGENTS = JSON.parse(agentsJson);
const SHOTS = path.join(artifacts, "screenshots");
mkdirSync(SHOTS, { recursive: true });
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"];

function log(...parts) {
  console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of text.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s), as an authenticator app computes it. */
function totp(secret, at = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}

async function newDesk(browser, name, locale) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale, timezoneId: "Europe/Brussels" });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (m) => /Content Security Policy/i.test(m.text()) && problems.push(`CSP: ${m.text()}`));
  let step = 0;
  const shot = async (label) => {
    step += 1;
    const file = path.join(SHOTS, `agent-${name}-${String(step).padStart(2, "0")}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    log(`${name}: ${label} -> ${path.relative(process.cwd(), file)} (${page.url()})`);
  };
  return { context, page, shot, problems };
}

async function signIn(desk, who, lang) {
  const { page, shot } = desk;
  await page.goto(`${base}/agent/${lang ? `?lang=${lang}` : ""}`);
  check(page.url().endsWith("/agent/sign-in"), `unsigned visit should land on sign-in, got ${page.url()}`);
  await page.locator("input[name=username]").fill(who.username);
  await page.locator("input[name=password]").fill(who.password);
  await shot("sign-in");
  await page.locator("form button[type=submit]").click();
  await page.waitForURL(/\/agent\/sign-in\/code$/);
  await page.locator("input[name=code]").fill(totp(who.secret));
  await shot("totp");
  await page.locator("form button[type=submit]").click();
  await page.waitForURL(/\/agent\/$/);
}

/** Reload until `selector`'s text (or its data-status) matches `pattern` (the worker delivers and refunds
 * in the background). */
async function waitForText(page, selector, pattern, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  let seen = "";
  while (Date.now() < deadline) {
    const el = page.locator(selector).first();
    seen = (await el.getAttribute("data-status").catch(() => "")) || (await el.innerText().catch(() => "")) || "";
    if (pattern.test(seen)) return seen;
    await page.waitForTimeout(700);
    await page.reload();
  }
  throw new Error(`${selector} never matched ${pattern} (last: "${seen}")`);
}

async function agentSells(desk) {
  const { page, shot } = desk;
  await signIn(desk, AGENTS.agent, "");
  await shot("search");
  await page.locator("input[name=q]").fill("0470 12 34 56");
  await page.locator("main form button[type=submit]").first().click();
  await page.waitForURL(/\/agent\/customer$/);
  check((await page.locator("h1").innerText()).includes("+32 470 •• •• 56"), "the customer's number is shown masked");
  await shot("customer");

  const esim = page.locator("#esim-form");
  await esim.locator("select[name=plan_id]").selectOption("esim-30d-unlimited");
  await esim.locator("select[name=document_type]").selectOption("passport");
  await esim.locator("input[name=document_last4]").fill("4321");
  await esim.locator("input[name=nationality]").fill("CN");
  await shot("identity-check");
  await esim.locator("button[type=submit]").click();
  await page.waitForURL(/\/agent\/orders\/ord_/);
  const orderId = page.url().split("/").pop();
  await waitForText(page, "#order-status", /^delivered$/);
  const qr = await page.locator(".qrbox svg").screenshot();
  const png = PNG.sync.read(qr);
  const decoded = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
  const shown = await page.locator(".qr .mono").innerText();
  check(decoded && decoded.data === shown && shown.startsWith("LPA:1$"), `QR code reads ${decoded?.data}, page shows ${shown}`);
  check((await page.locator(".facts").innerText()).includes("Passport ··4321"), "the identity check is on the order");
  await shot("esim-sold");

  await page.locator("input[name=reason]").fill("The customer's phone does not support eSIM");
  await page.locator("button.danger").click();
  await page.waitForURL(/\/agent\/requests$/);
  check(/pending/.test(await page.locator("table.grid").innerText()), "the refund waits for a supervisor");
  await shot("refund-requested");

  await page.goto(`${base}/agent/customer`);
  await page.locator("textarea[name=text]").fill("Customer comes back tomorrow with an eSIM-capable phone.");
  await page.locator("form.note button[type=submit]").click();
  await page.waitForURL(/\/agent\/customer$/);
  const timeline = await page.locator("table.grid").innerText();
  for (const kind of ["order", "payment", "status", "note", "request"]) check(timeline.includes(kind), `timeline shows ${kind}`);
  await shot("timeline");
  return orderId;
}

async function supervisorApproves(desk, orderId) {
  const { page, shot } = desk;
  await signIn(desk, AGENTS.supervisor, "zh-hans");
  await page.goto(`${base}/agent/approvals`);
  const row = page.locator("tr", { hasText: orderId.slice(-8) });
  await row.waitFor();
  await shot("approvals");
  await row.locator("button[value=approve]").click();
  await page.waitForURL(/\/agent\/approvals$/);
  check((await page.locator("tr", { hasText: orderId.slice(-8) }).count()) === 0, "the approved request left the queue");
}

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const agent = await newDesk(browser, "agent", "en-GB");
  const boss = await newDesk(browser, "supervisor", "zh-CN");
  try {
    const orderId = await agentSells(agent);
    await supervisorApproves(boss, orderId);
    await agent.page.goto(`${base}/agent/requests`);
    await waitForText(agent.page, "table.grid", /executed/);
    await agent.page.goto(`${base}/agent/orders/${orderId}`);
    await waitForText(agent.page, "#order-status", /^refunded$/);
    await agent.shot("refunded");
    await boss.page.goto(`${base}/agent/audit`);
    const audit = await boss.page.locator("#audit").innerText();
    for (const action of ["signed_in", "search", "view_customer", "identity_check", "sale_cash", "refund_requested",
      "note", "refund_approved", "refund_executed"]) {
      check(audit.includes(action), `the audit log shows ${action}`);
    }
    check(await boss.page.locator("p.ok").count() === 1, "the supervisor's audit page says the chain is intact");
    await boss.shot("audit-log");
    await agent.page.goto(`${base}/agent/audit`);
    const own = await agent.page.locator("#audit").innerText();
    check(!own.includes("refund_approved"), "an agent's audit page shows only their own actions");
    await agent.shot("own-audit");
    const problems = [...agent.problems, ...boss.problems];
    check(!problems.length, `browser problems:\n  ${problems.join("\n  ")}`);
    log("agent journey passed");
  } catch (error) {
    for (const desk of [agent, boss]) {
      await desk.shot("FAILED").catch(() => {});
      writeFileSync(path.join(SHOTS, `agent-FAILED-${Date.now()}.html`), await desk.page.content().catch(() => ""));
    }
    console.error(error.stack || error.message);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

await main();
