// The API documentation (/api/v1/docs) works offline: Debian's chromium driven by playwright-core opens it with
// every request that does not go to the server itself aborted (no CDN can help), waits for Swagger UI's
// operation list and checks that it shows the API's operations, with no Content-Security-Policy complaint and
// no request that left for somewhere else.
//
//   node tests/browser/apidocs.mjs <base url> <artifacts dir>
//
// Screenshot: <artifacts dir>/screenshots/apidocs-offline.png. Exit code 0 when the page rendered.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error("usage: node tests/browser/apidocs.mjs <base url> <artifacts dir>");
  process.exit(2);
}
const SHOTS = path.join(artifacts, "screenshots");
mkdirSync(SHOTS, { recursive: true });
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];
const ORIGIN = new URL(base).origin;
// Operations the document must show: the customer API, the eSIM API and the back office's.
const EXPECTED = ["/api/v1/orders", "/api/v1/esim/orders", "/api/v1/plans"];

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const profile = mkdtempSync(path.join(tmpdir(), "topup-apidocs-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 }, locale: "en-GB",
});
context.setDefaultTimeout(20_000);
const leftTheServer = [];
const problems = [];
// The network, as far as this browser knows, is the server and nothing else.
await context.route("**/*", (route) => {
  const url = route.request().url();
  if (url.startsWith(`${ORIGIN}/`) || url.startsWith("data:")) return route.continue();
  leftTheServer.push(url);
  return route.abort("internetdisconnected");
});
const page = context.pages()[0] ?? (await context.newPage());
page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
page.on("console", (m) => /Content Security Policy|Refused to/i.test(m.text()) && problems.push(`CSP: ${m.text()}`));
let code = 0;
try {
  const response = await page.goto(`${base}/api/v1/docs`);
  check(response && response.status() === 200, `GET /api/v1/docs answered ${response && response.status()}`);
  await page.locator(".opblock").first().waitFor();
  const paths = await page.locator(".opblock-summary-path").evaluateAll((els) =>
    els.map((el) => (el.getAttribute("data-path") || el.textContent || "").replace(/\u200b/g, "").trim()));
  console.log(`${paths.length} operations shown, e.g. ${paths.slice(0, 5).join(", ")}`);
  for (const wanted of EXPECTED) check(paths.includes(wanted), `${wanted} is not among the operations shown`);
  check(paths.length >= 10, `only ${paths.length} operations shown`);
  const title = (await page.locator(".info .title").innerText()).trim();
  check(title.startsWith("Topup API"), `the title reads ${JSON.stringify(title)}`);
  check(!leftTheServer.length, `the page asked for something outside the server: ${leftTheServer.join(", ")}`);
  check(!problems.length, problems.join("\n"));
  await page.screenshot({ path: path.join(SHOTS, "apidocs-offline.png") });
  console.log("PASS the API documentation renders with the network limited to the server");
} catch (error) {
  code = 1;
  console.log(`FAIL ${error.stack || error}`);
  try {
    await page.screenshot({ path: path.join(SHOTS, "apidocs-offline-FAILED.png"), fullPage: true });
    writeFileSync(path.join(SHOTS, "apidocs-offline-FAILED.html"), await page.content());
  } catch {
    // the page may be gone
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(code);
