// The self-service kiosk in a real browser (Debian's chromium driven by playwright-core), portrait 1080×1920
// with a touch screen, as Chromium runs in kiosk mode:
//
//   node tests/browser/kiosk.mjs <enrolment url> <cash acceptor url> <artifacts dir> <payments url> <reader>
//
// 1. In Chinese: number on the keypad, a Proximus €10 credit, paid in cash: the test inserts a €5 note and a
//    €10 note through the cash acceptor simulator (€5 comes back as extra credit), and the receipt shows.
// 2. In French, a 7-day bundle (€9.99: card only): the card is declined on the reader (the payment
//    simulator's Stripe Terminal test tap), the kiosk says so, the second tap is approved, the receipt shows.
// 3. The idle timeout: a customer walks away; the countdown shows, then the language screen, and the server
//    has forgotten the customer.
// Screenshots go to <artifacts dir>/screenshots/kiosk-*.png. Exit code 0 when both passed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const [enrolUrl, cashUrl, artifacts, paymentsUrl, readerId] = process.argv.slice(2);
const PAYMENTS_KEY = process.env.TOPUP_PAYMENTS_API_KEY || "sk_test_topup_demo";
if (!enrolUrl || !cashUrl || !artifacts || !paymentsUrl || !readerId) {
  console.error("usage: node tests/browser/kiosk.mjs <enrol url> <cash url> <artifacts dir> <payments url> <reader>");
  process.exit(2);
}
const SHOTS = path.join(artifacts, "screenshots");
mkdirSync(SHOTS, { recursive: true });
const base = new URL(enrolUrl).origin;

function log(...parts) {
  console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function insert(amountMinor) {
  const response = await fetch(`${cashUrl}/_sim/insert`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ amount_minor: amountMinor }),
  });
  const answer = await response.json();
  log(`inserted ${amountMinor}: accepted=${answer.accepted} ${answer.code || ""}`);
  return answer;
}

async function tapCard(number) {
  const response = await fetch(
    `${paymentsUrl}/v1/test_helpers/terminal/readers/${readerId}/present_payment_method`,
    {
      method: "POST",
      headers: { Authorization: `Bearer ${PAYMENTS_KEY}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ "card_present[number]": number }),
    },
  );
  const reader = await response.json();
  log(`card ${number.slice(-4)} tapped: ${reader.action?.status ?? JSON.stringify(reader)}`);
  return reader;
}

async function main() {
  const profile = mkdtempSync(path.join(tmpdir(), "topup-kiosk-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    headless: true,
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    viewport: { width: 1080, height: 1920 },
    hasTouch: true,
    locale: "zh-CN",
    timezoneId: "Europe/Brussels",
  });
  context.setDefaultTimeout(20_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (m) => /Content Security Policy/i.test(m.text()) && problems.push(`CSP: ${m.text()}`));
  const shot = async (label) => {
    const file = path.join(SHOTS, `kiosk-${label}.png`);
    await page.screenshot({ path: file });
    log(`${label} -> ${file} (${page.url()})`);
  };
  try {
    await page.goto(enrolUrl);
    await page.waitForURL(`${base}/kiosk/`);
    await shot("01-language");
    await page.locator('button[value="zh-hans"]').tap();
    await page.waitForURL(/\/kiosk\/number$/);
    for (const key of "0470123456") await page.locator(`.keypad [data-key="${key}"]`).tap();
    check((await page.inputValue("#msisdn")) === "0470 12 34 56", "the keypad wrote the number");
    await shot("02-number");
    await page.locator("button.go").tap();
    await page.waitForURL(/\/kiosk\/plans$/);
    check((await page.locator(".line").innerText()).includes("Proximus"), "the network is guessed");
    await shot("03-plans");
    await page.locator('button[value="proximus-credit-10"]').tap();
    await page.waitForURL(/\/kiosk\/pay$/);
    await shot("04-pay");
    await page.locator("button.method.cash").tap();
    await page.waitForURL(/\/kiosk\/cash$/);
    await shot("05-cash");
    check((await insert(500)).accepted, "the €5 note is taken");
    await page.locator("#inserted", { hasText: "5" }).waitFor();
    await page.waitForFunction(() => /5[.,]00/.test(document.getElementById("inserted").textContent));
    await shot("06-cash-inserted");
    check((await insert(1000)).accepted, "the €10 note is taken (€5 back as credit)");
    await page.waitForURL(/\/kiosk\/receipt$/, { timeout: 30_000 });
    const receipt = await page.locator("#receipt").innerText();
    check(/10[.,]00/.test(receipt), `the receipt shows the price: ${receipt}`);
    check(/15[.,]00/.test(receipt), `the receipt shows the cash inserted: ${receipt}`);
    writeFileSync(path.join(artifacts, "kiosk-receipt.txt"), receipt);
    await shot("07-receipt");
    await page.locator("button.go").tap();
    await page.waitForURL(`${base}/kiosk/`);

    // In French, a bundle that only a card can pay: declined first, then approved.
    await page.locator('button[value="fr"]').tap();
    await page.waitForURL(/\/kiosk\/number$/);
    for (const key of "0485112233") await page.locator(`.keypad [data-key="${key}"]`).tap();
    await page.locator("button.go").tap();
    await page.waitForURL(/\/kiosk\/plans$/);
    await page.locator('button[value="base-data-7d-5gb"]').tap();
    await page.waitForURL(/\/kiosk\/pay$/);
    check((await page.locator("button.method.cash").count()) === 0, "€9.99 is not offered for cash");
    await shot("10-pay-card-only");
    await page.locator("button.method.card").tap();
    await page.waitForURL(/\/kiosk\/card$/);
    await shot("11-card-reader");
    check((await tapCard("4000000000000002")).action.status === "failed", "the reader declines the card");
    await page.waitForURL(/\/kiosk\/card\/declined$/);
    await shot("12-card-declined");
    await page.locator("button.method.card").tap(); // try again
    await page.waitForURL(/\/kiosk\/card$/);
    check((await tapCard("4242424242424242")).action.status === "succeeded", "the reader approves the card");
    await page.waitForURL(/\/kiosk\/card\/receipt$/, { timeout: 30_000 });
    check(/9,99|9\.99/.test(await page.locator("#receipt").innerText()), "the card receipt shows the price");
    await shot("13-card-receipt");
    await page.locator("button.go").tap();
    await page.waitForURL(`${base}/kiosk/`);

    // A customer chooses a language, starts typing, and walks away.
    await page.locator('button[value="en"]').tap();
    await page.waitForURL(/\/kiosk\/number$/);
    await page.locator('.keypad [data-key="0"]').tap();
    await page.locator("#idle").waitFor({ state: "visible", timeout: 60_000 });
    await shot("14-idle-countdown");
    await page.waitForURL(`${base}/kiosk/`, { timeout: 30_000 });
    await shot("15-back-to-start");
    await page.goto(`${base}/kiosk/number`);
    await page.waitForURL(`${base}/kiosk/`); // the server forgot the language: nothing of the customer is left
    check(!problems.length, problems.join("\n"));
    log("kiosk journeys passed");
  } catch (error) {
    try {
      await shot("FAILED");
      writeFileSync(path.join(SHOTS, "kiosk-FAILED.html"), await page.content());
    } catch {
      // the browser may be gone
    }
    if (problems.length) error.message += `\n  ${problems.join("\n  ")}`;
    throw error;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
