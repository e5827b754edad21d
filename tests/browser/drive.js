// Drives a Chromium that jl opened (as $BROWSER) over the DevTools protocol: finds the tab jl's
// page sent to Jupyter, waits for the app's UI, keeps a screenshot, creates a notebook and runs a
// cell; then, once the test has cut the tunnel's SSH connection and it is back, runs a second
// cell in the same tab, without a reload.
//
// Usage: node drive.js CDP_URL ORIGIN APP TOKEN_FILE OUT_DIR
//   APP: lab (JupyterLab 3/4), notebook7, notebook6. ORIGIN: http://127.0.0.1:PORT/BASE/
// Writes OUT_DIR/phase1.json when the first cell has run, waits for OUT_DIR/go, then writes
// OUT_DIR/result.json. Prints one line per step on stderr.

"use strict";

const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const [cdpUrl, origin, app, tokenFile, outDir] = process.argv.slice(2);
const token = fs.readFileSync(tokenFile, "utf8").trim();
const notebookName = `jl-browser-${app}-${process.pid}.ipynb`;
const code = "import os; print(os.getpid())";
const T = 90000;

function step(s) {
  process.stderr.write(`drive: ${new Date().toISOString().slice(11, 23)} ${s}\n`);
}

async function api(method, p, body) {
  const res = await fetch(origin + p, {
    method,
    headers: { Authorization: `token ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    throw new Error(`${method} ${p}: HTTP ${res.status}`);
  }
  return res.status === 204 ? null : res.json();
}

// The tab that jl's page sent on to Jupyter.
async function findPage(browser) {
  const until = Date.now() + T;
  while (Date.now() < until) {
    for (const context of browser.contexts()) {
      for (const page of context.pages()) {
        if (page.url().startsWith(origin)) {
          return page;
        }
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const urls = browser.contexts().flatMap((c) => c.pages().map((p) => p.url()));
  throw new Error(`no tab at ${origin}; tabs: ${urls.join(", ") || "none"}`);
}

const ui = {
  lab: {
    home: ".jp-Launcher",
    cell: ".jp-Notebook .jp-Cell.jp-CodeCell",
    editor: ".cm-content, .CodeMirror",
    output: ".jp-Notebook .jp-OutputArea-output",
    idle: null,
  },
  notebook7: {
    home: ".jp-DirListing",
    cell: ".jp-Notebook .jp-Cell.jp-CodeCell",
    editor: ".cm-content",
    output: ".jp-Notebook .jp-OutputArea-output",
    idle: null,
  },
  notebook6: {
    home: "#notebook_list",
    cell: "#notebook-container .cell.code_cell",
    editor: ".CodeMirror",
    output: "#notebook-container .output_subarea.output_text",
    idle: "#kernel_indicator_icon.kernel_idle_icon",
  },
}[app];

// Type `code` into the last code cell and run it; return its output once it shows.
async function runCell(page, count) {
  const cell = page.locator(ui.cell).last();
  await cell.locator(ui.editor).first().click();
  await page.keyboard.insertText(code);
  await page.keyboard.press("Shift+Enter");
  const out = page.locator(ui.output).nth(count);
  await out.waitFor({ state: "visible", timeout: T });
  const text = (await out.innerText()).trim();
  if (!/^\d+$/.test(text)) {
    throw new Error(`the cell printed ${JSON.stringify(text)}, not a pid`);
  }
  return Number(text);
}

let current = null;  // the tab, for a screenshot when a step fails

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const browser = await chromium.connectOverCDP(cdpUrl, { timeout: 30000 });
  const page = await findPage(browser);
  current = page;
  step(`tab at ${page.url().replace(/token=[0-9a-f]+/, "token=...")}`);
  await page.locator(ui.home).first().waitFor({ state: "visible", timeout: T });
  const title = await page.title();
  await page.screenshot({ path: path.join(outDir, `${app}-home.png`) });
  step(`the UI is up (${title}); screenshot kept`);

  {
    // Create the notebook with the API (with its kernel named, so no kernel dialog), then open
    // it in this tab.
    await api("PUT", `api/contents/${notebookName}`, {
      type: "notebook",
      format: "json",
      content: {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { kernelspec: { name: "python3", display_name: "Python 3", language: "python" } },
        cells: [{ cell_type: "code", source: "", metadata: {}, outputs: [], execution_count: null, id: "c1" }],
      },
    });
    await page.goto(`${origin}${app === "lab" ? "lab/tree" : "notebooks"}/${notebookName}`);
  }
  await page.locator(ui.cell).first().waitFor({ state: "visible", timeout: T });
  if (ui.idle) {
    await page.locator(ui.idle).waitFor({ state: "attached", timeout: T });
  }
  // The tab's kernel is up and its websocket connected (a cell run before that may be lost).
  const ready = Date.now() + T;
  for (;;) {
    const kernels = await api("GET", "api/kernels");
    // Notebook 6 leaves execution_state at "starting" until the first request; its own idle
    // indicator is awaited below instead.
    if (kernels.some((k) => k.connections > 0 &&
                            (app === "notebook6" || k.execution_state === "idle"))) {
      break;
    }
    if (Date.now() > ready) {
      throw new Error(`no idle kernel with a connection: ${JSON.stringify(kernels)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (app === "lab") {
    await page.getByText(/\| Idle/).first().waitFor({ state: "visible", timeout: T });
  }
  step("a notebook is open, its kernel idle and connected");
  const first = await runCell(page, 0);
  await page.screenshot({ path: path.join(outDir, `${app}-notebook.png`) });
  step(`the first cell printed ${first}`);
  // Any reload from here on would lose this.
  await page.evaluate(() => {
    window.__jlNoReload = "still the same document";
  });
  const sessions = await api("GET", "api/sessions");
  fs.writeFileSync(path.join(outDir, "phase1.json"),
                   JSON.stringify({ pid: first, title, sessions: sessions.length }));

  const go = path.join(outDir, "go");
  const until = Date.now() + 180000;
  while (!fs.existsSync(go)) {
    if (Date.now() > until) {
      throw new Error("the test never said go");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  step("the tunnel was cut and is back; running a second cell in the same tab");
  const marker = await page.evaluate(() => window.__jlNoReload);
  const t0 = Date.now();
  const second = await runCell(page, 1);
  const seconds = (Date.now() - t0) / 1000;
  await page.screenshot({ path: path.join(outDir, `${app}-after-reconnect.png`) });
  step(`the second cell printed ${second} after ${seconds.toFixed(1)} s`);
  fs.writeFileSync(path.join(outDir, "result.json"),
                   JSON.stringify({ first, second, marker: marker || null, seconds }));
  process.exit(0);
}

main().catch(async (e) => {
  step(`failed: ${e.message.split("\n")[0]}`);
  fs.writeFileSync(path.join(outDir, "error.txt"), String(e.stack || e));
  if (current) {
    await current.screenshot({ path: path.join(outDir, `${app}-failed.png`) }).catch(() => {});
  }
  process.exit(1);
});
