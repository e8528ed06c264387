// Opens a written `locklab report` page in Debian's chromium (headless,
// driven by playwright-core, which never downloads a browser) and reports
// what a person would see, as one JSON object on stdout; the Rust test
// (lab/tests/lab/report.rs) asserts on it. Every wait is for a condition,
// with a deadline; nothing here sleeps.
//
//   node report.mjs PAGE.html OUTDIR [--card ANCHOR --shot FILE]
//
// With --card/--shot it also saves a screenshot of that card (for the
// README; see docs/report.md for the regeneration command).
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [page_path, outdir, ...rest] = process.argv.slice(2);
if (!page_path || !outdir) {
  console.error("usage: node report.mjs PAGE.html OUTDIR [--card ANCHOR --shot FILE]");
  process.exit(2);
}
const opt = (name) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};
const DEADLINE = 30_000;
const profile = mkdtempSync(join(resolve(outdir), "chromium-profile-"));
// A fresh, empty profile: playwright passes it as --user-data-dir.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.LOCKLAB_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  timeout: DEADLINE,
  viewport: { width: 1600, height: 1300 },
  deviceScaleFactor: 1,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const result = { consoleErrors: [], externalRequests: [], screenshots: [] };
try {
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(DEADLINE);
  page.on("console", (m) => { if (m.type() === "error") result.consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => result.consoleErrors.push(String(e)));
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith("file:") && !u.startsWith("data:")) result.externalRequests.push(u);
  });
  const started = Date.now();
  await page.goto(pathToFileURL(resolve(page_path)).href, { waitUntil: "load", timeout: DEADLINE });
  await page.waitForFunction(() => document.documentElement.dataset.ready === "1", null, { timeout: DEADLINE });
  result.openMs = Date.now() - started;
  result.readyMs = await page.evaluate(() => {
    const m = performance.getEntriesByName("locklab-ready")[0];
    return m ? Math.round(m.startTime) : null;
  });

  // Every violated cell links to a card that has its diagram.
  result.cells = await page.evaluate(() => {
    const cells = Array.from(document.querySelectorAll("table.matrix td.v.violated"));
    const missing = [];
    let withDiagram = 0;
    for (const td of cells) {
      const a = td.querySelector("a[href^='#']");
      const target = a && document.getElementById(a.getAttribute("href").slice(1));
      if (target && target.querySelector("figure.diagram svg.seq g.row")) withDiagram += 1;
      else missing.push(td.closest("tr").innerText.split("\t").slice(0, 2).join(" ") + ": " + (a ? a.getAttribute("href") : "no link"));
    }
    return { violated: cells.length, withDiagram, missing, diagrams: document.querySelectorAll("figure.diagram").length };
  });

  // The slider moves a diagram: the highlighted row follows the keys.
  const fig = page.locator("article.card figure.diagram").first();
  const current = () => fig.evaluate((f) => {
    const cur = f.querySelector("g.row.cur");
    return { step: f.dataset.step, row: cur ? cur.dataset.i : null, curtain: f.querySelector(".curtain").getAttribute("height") };
  });
  const before = await current();
  await fig.focus();
  await page.keyboard.press("Home");
  await page.waitForFunction((f) => f.dataset.step === "1", await fig.elementHandle(), { timeout: DEADLINE });
  const home = await current();
  await page.keyboard.press("ArrowRight");
  await page.waitForFunction((f) => f.dataset.step === "2", await fig.elementHandle(), { timeout: DEADLINE });
  const right = await current();
  const slider = fig.locator("input.step");
  await slider.focus();
  await page.keyboard.press("End");
  await page.waitForFunction((f) => f.dataset.step === f.querySelector("input.step").max, await fig.elementHandle(), { timeout: DEADLINE });
  const end = await current();
  result.slider = { before, home, right, end };

  // Hover shows a row's reply and the key's state after it.
  const row = fig.locator("g.row").nth(0);
  await row.hover();
  await page.waitForFunction((f) => /Step 1/.test(f.querySelector(".info").textContent), await fig.elementHandle(), { timeout: DEADLINE });
  result.hoverInfo = await fig.locator(".info").innerText();

  // Pictures of the page at rest: no row hovered, no diagram focused.
  await page.mouse.move(0, 0);
  await page.evaluate(() => document.activeElement.blur());
  const shots = [
    ["page-top.png", null],
    ["first-card.png", "article.card"],
    ["first-diagram.png", "article.card figure.diagram"],
  ];
  for (const [name, selector] of shots) {
    const file = join(outdir, name);
    if (selector) await page.locator(selector).first().screenshot({ path: file, timeout: DEADLINE });
    else await page.screenshot({ path: file, timeout: DEADLINE });
    result.screenshots.push(file);
  }
  const card = opt("--card");
  const shot = opt("--shot");
  if (card && shot) {
    await page.locator(`#${card}`).screenshot({ path: shot, timeout: DEADLINE });
    result.screenshots.push(shot);
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result) + "\n");
