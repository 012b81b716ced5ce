// A Dutch top-up with the promo code FLYER5 in a real browser (Debian's chromium, playwright-core) at 360 px:
// the code applied on the review step (the promotion line and the new total, without reloading by script),
// paid through the payment simulator's checkout, and the order page showing the saving until delivered.
//
//   node tests/browser/promo.mjs <base url> <artifacts dir>
//
// Screenshots: <artifacts dir>/screenshots/promo-*.png. Exit code 0 when the journey passed, else 1.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error("usage: node tests/browser/promo.mjs <base url> <artifacts dir>");
  process.exit(2);
}
const SHOTS = path.join(artifacts, "screenshots");
mkdirSync(SHOTS, { recursive: true });
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const CODE = "FLYER5";
const SAVING = /−\s?€\s?5,00/; // Dutch money: "− € 5,00"
const ENGLISH = ["Promo code", "Apply", "Discount", "Total to pay", "Pay now", "This promo code"];

function log(...parts) {
  console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** "€ 20,00" -> 2000 (minor units), as the Dutch page writes amounts. */
function cents(text) {
  const match = text.replace(/\s/g, "").match(/(\d+),(\d\d)/);
  check(match, `no amount in ${JSON.stringify(text)}`);
  return Number(match[1]) * 100 + Number(match[2]);
}

async function run() {
  const profile = mkdtempSync(path.join(tmpdir(), "topup-promo-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 360, height: 780 },
    deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "nl-BE", timezoneId: "Europe/Brussels",
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  let step = 0;
  const shot = async (label) => {
    step += 1;
    const file = path.join(SHOTS, `promo-${String(step).padStart(2, "0")}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `${path.basename(file)}: the page is ${overflow}px wider than 360px`);
    log(`promo: ${label} -> ${path.relative(process.cwd(), file)} (${page.url()})`);
  };
  try {
    await page.goto(`${base}/topup?lang=nl`);
    check((await page.locator("html").getAttribute("lang")) === "nl", "the page is not in Dutch");
    await page.locator("#msisdn").fill("0470 12 34 59");
    await shot("number");
    await page.locator("form button[type=submit]").first().click();
    await page.waitForURL(/\/topup\/network/);
    await page.locator("select[name=network]").selectOption("proximus");
    await page.locator("form button[type=submit]").first().click();
    await page.waitForURL(/\/topup\/plans/);
    // A €20 credit plan: FLYER5 takes €5 off a top-up of €15 or more.
    const plan = page.locator("button.plan").filter({ hasText: /€\s?20,00/ }).first();
    await plan.click();
    await page.waitForURL(/\/topup\/review/);
    await shot("review");
    // A new number's first top-up: the demo's Welcome discount applies without a code.
    const welcome = page.locator("tr.promotion").filter({ hasText: /Welkom/ });
    check((await welcome.count()) === 1, "no first top-up (Welkom) line on the review step");
    const before = cents(await page.locator("tr.total td").innerText());

    await page.locator("#promo_code").fill(CODE);
    await page.locator("button[name=apply]").click();
    await page.waitForLoadState("load");
    await shot("review-with-code");
    check(!(await page.locator("#promo_code-error").count()),
      `the code was refused: ${await page.locator("#promo_code-error").innerText().catch(() => "")}`);
    const line = page.locator("tr.promotion").filter({ hasText: CODE });
    check((await line.count()) === 1, "no promotion line for FLYER5 on the review step");
    const lineText = await line.innerText();
    check(SAVING.test(lineText), `the FLYER5 line does not show − € 5,00: ${JSON.stringify(lineText)}`);
    const after = cents(await page.locator("tr.total td").innerText());
    check(after <= before - 500, `the total went from ${before} to ${after} cents, not at least €5 less`);
    const body = await page.locator("main").innerText();
    for (const words of ENGLISH) check(!body.includes(words), `English on the Dutch review page: "${words}"`);

    await page.getByRole("radio", { name: "Bancontact" }).check();
    await page.locator("form button[type=submit]:not([name=apply])").click();
    await page.waitForURL(/\/checkout\//);
    await page.getByRole("button", { name: "Goedkeuren" }).waitFor(); // Bancontact's page, in Dutch
    await shot("checkout");
    const charged = await page.locator("body").innerText();
    check(charged.replace(/\s/g, "").includes((after / 100).toFixed(2).replace(".", ",")) ||
      charged.includes((after / 100).toFixed(2)), `the checkout does not ask for the discounted total ${after}`);
    await page.getByRole("button", { name: "Goedkeuren" }).click();
    await page.waitForURL(/\/orders\//);

    const deadline = Date.now() + 90_000;
    let status = "";
    while (Date.now() < deadline) {
      try {
        status = await page.locator("#status-words").getAttribute("data-status", { timeout: 2_000 });
        if (status === "delivered") break;
      } catch {
        // the page was reloading
      }
      await page.waitForTimeout(500);
    }
    check(status === "delivered", `the order did not reach delivered (last seen: ${status})`);
    await shot("order-delivered");
    const promotions = await page.locator("#promotions").innerText();
    check(promotions.includes(CODE) && SAVING.test(promotions),
      `the order page does not show the FLYER5 saving: ${JSON.stringify(promotions)}`);
    check(cents(await page.locator("p.big").innerText()) === after, "the order's amount is not the discounted total");
    check(/Welkom/.test(promotions), `the order page does not show the first top-up discount: ${promotions}`);
    const receipt = await page.locator("#receipt").getAttribute("href");
    const pdf = await page.request.get(new URL(receipt, page.url()).toString());
    check(pdf.status() === 200 && (await pdf.body()).subarray(0, 4).toString() === "%PDF",
      `the receipt download is not a PDF (${pdf.status()})`);
    const orderNumber = (await page.locator("#order-number").innerText()).trim();
    console.log(`ORDER ${orderNumber}`);
    if (problems.length) log(`promo: notes:\n  ${problems.join("\n  ")}`);
  } catch (error) {
    try {
      await shot("FAILED");
      writeFileSync(path.join(SHOTS, "promo-FAILED.html"), await page.content());
    } catch {
      // the page may be gone with the browser
    }
    throw error;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

run().then(
  () => log("promo: passed"),
  (error) => {
    console.error(`promo: FAILED: ${error.message}`);
    process.exit(1);
  },
);
