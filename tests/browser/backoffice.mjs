// The staff back office in Chinese in a real browser (Debian's chromium driven by playwright-core).
//
//   node tests/browser/backoffice.mjs <base url> <user> <password> <artifacts dir>
//
// Signs in, opens the dashboard, searches an order by "0470 12 34 56", opens retailers and settlements,
// checking what each page says; screenshots go to <artifacts dir>/screenshots/backoffice-*.png.
// JavaScript is switched off for the dashboard: its charts are drawn by the server.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const [base, user, password, artifacts] = process.argv.slice(2);
if (!base || !user || !password || !artifacts) {
  console.error("usage: node tests/browser/backoffice.mjs <base url> <user> <password> <artifacts dir>");
  process.exit(2);
}
const SHOTS = path.join(artifacts, "screenshots");
mkdirSync(SHOTS, { recursive: true });
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"];

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `backoffice-${name}.png`), fullPage: true });
  console.log(`screenshot backoffice-${name}.png`);
}

async function signIn(context) {
  const page = await context.newPage();
  await page.goto(`${base}/admin/login/`);
  await page.fill("#id_username", user);
  await page.fill("#id_password", password);
  await Promise.all([page.waitForURL(`${base}/admin/`), page.click("input[type=submit]")]);
  const heading = await page.textContent("#site-name");
  check(heading.includes("Topup 后台管理"), `header: ${heading}`);
  await shot(page, "index-zh");
  return page;
}

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const context = await browser.newContext({ locale: "zh-CN", viewport: { width: 1600, height: 900 } });
    const page = await signIn(context);

    await page.goto(`${base}/admin/topup/order/?q=${encodeURIComponent("0470 12 34 56")}`);
    const found = await page.locator("#result_list tbody tr").count();
    check(found >= 4, `orders found by 0470 12 34 56: ${found}`);
    const listed = await page.textContent("#result_list");
    check(listed.includes("€10.00"), "money shown as money");
    check((await page.textContent("h1")).includes("订单"), "Chinese model name");
    await shot(page, "orders-search-zh");

    await page.goto(`${base}/admin/topup/retailer/`);
    check((await page.textContent("#result_list")).includes("Nachtwinkel"), "the retailer is listed");
    await shot(page, "retailers-zh");
    await page.goto(`${base}/admin/settlements/`);
    check((await page.textContent("#content-main table")).includes("Nachtwinkel"), "a settlement row");
    await shot(page, "settlements-zh");

    // The dashboard with JavaScript off: every chart is there as SVG all the same.
    const cookies = await context.cookies();
    const noScript = await browser.newContext({
      locale: "zh-CN", javaScriptEnabled: false, viewport: { width: 1600, height: 900 },
    });
    await noScript.addCookies(cookies);
    const board = await noScript.newPage();
    await board.goto(`${base}/admin/dashboard/`);
    const charts = await board.locator('svg[role="img"]').count();
    check(charts === 4, `charts: ${charts}`);
    const titles = await board.locator('svg[role="img"] > title').allTextContents();
    check(titles.includes("各渠道销售额") && titles.includes("每日销售额"), `chart titles: ${titles}`);
    const text = await board.textContent("#content-main");
    check(text.includes("成功率") && text.includes("秒"), "delivery success and latency");
    await shot(board, "dashboard-zh");
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
