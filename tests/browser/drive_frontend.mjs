// Drives the real ComfyUI web frontend in headless Chromium (playwright-core, Debian's /usr/bin/chromium):
// for each workflow file it opens the app, loads the file the way "Open workflow" / drag-and-drop does
// (app.handleFile), records missing node types, nodes with errors, open dialogs and widget values that
// changed on load, applies widget overrides (fewer steps) through the widgets, queues with
// app.queuePrompt, waits for the run to finish, brings the whole graph into view (the frontend loads
// an output node's image only when it draws the node, and a workflow's saved view may leave its
// SaveImage off-screen), waits for the output image in the SaveImage node's preview and saves a
// screenshot.
//
//   node drive_frontend.mjs CONFIG.json RESULTS.json
//
// CONFIG: {url, artifacts_dir, node_modules, chromium, timeout_s,
//          workflows: [{name, path, mode, overrides: {NodeType: {widget_name: value}}}]}
// mode: "run" (queue, wait for the run, wait for the output preview), "validate" (queue for the
// server's validation only: a prompt the server accepts is interrupted and deleted at once) or
// "load" (no queueing), "templates" (open the template browser on the pack's category, record every
// card and its thumbnail; `module` names the pack) or "blueprint" (insert the subgraph blueprint
// `blueprint` from the node library, feed its inputs from loaders `sources` ([[NodeType, [widget
// values]]] per input), save its output, then run as "run").
// RESULTS: {workflows: {name: {...findings}}}, rewritten after each workflow.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const [configPath, resultsPath] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const require = createRequire(path.join(config.node_modules, 'noop.js'));
const { chromium } = require('playwright-core');

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// Settings served to the page instead of the host's stored ones: no first-run template browser, and
// the warnings this test looks for switched on. Writes are answered here, so the host's user folder
// is never changed by the test.
const SETTINGS = {
  'Comfy.TutorialCompleted': true,
  'Comfy.InstalledVersion': '1.32.9',
  'Comfy.Workflow.ShowMissingNodesWarning': true,
  'Comfy.Workflow.ShowMissingModelsWarning': true,
  'Comfy.Validation.Workflows': true,
  'Comfy.Queue.MaxHistoryItems': 16,
};

const log = (...a) => console.log('[browser]', ...a);
const results = { chromium: null, workflows: {} };
const save = () => fs.writeFileSync(resultsPath, JSON.stringify(results, null, 2));

async function openApp(page) {
  await page.goto(config.url + '/', { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => window.app?.graph && window.app?.canvas && window.graph,
    null, { timeout: 120_000 });
  // Let the app finish its start-up (extensions, settings, dialogs) before loading anything.
  await page.waitForTimeout(1500);
}

/** Visible dialogs' text (PrimeVue dialogs, the toasts' error alerts). */
async function openDialogs(page) {
  return page.evaluate(() => [...document.querySelectorAll('.p-dialog, .p-toast-message-error')]
    .filter((d) => d.offsetParent !== null || d.getClientRects().length)
    .map((d) => d.innerText.trim().slice(0, 1500)));
}

async function loadWorkflow(page, wf) {
  const text = fs.readFileSync(wf.path, 'utf8');
  return page.evaluate(async ({ text, fileName }) => {
    const data = JSON.parse(text);
    const registered = window.LiteGraph?.registered_node_types
      ?? Object.fromEntries(Object.keys(await window.app.api.getNodeDefs()).map((k) => [k, 1]));
    const missing = [...new Set(data.nodes.filter((n) => !(n.type in registered)).map((n) => n.type))];
    await window.app.handleFile(new File([text], fileName, { type: 'application/json' }));
    const g = window.app.graph;
    const serialized = g.serialize();
    const byId = Object.fromEntries(serialized.nodes.map((n) => [n.id, n]));
    const changed = [];
    for (const n of data.nodes) {
      const now = byId[n.id];
      if (!now) { changed.push(`node ${n.id} (${n.type}) not in the loaded graph`); continue; }
      const fileValues = n.widgets_values ?? [];
      const loadedValues = now.widgets_values ?? [];
      const before = JSON.stringify(fileValues);
      // A workflow saved before a node gained an optional input keeps its values; the new widget's
      // default is appended after them. Only a change of the saved values counts.
      const after = Array.isArray(fileValues) && Array.isArray(loadedValues)
        ? JSON.stringify(loadedValues.slice(0, fileValues.length)) : JSON.stringify(loadedValues);
      if (before !== after) changed.push(`node ${n.id} (${n.type}): file ${before} -> loaded ${JSON.stringify(loadedValues)}`);
    }
    return {
      missing_node_types: missing,
      node_count: g.nodes.length,
      file_node_count: data.nodes.length,
      link_count: Object.keys(serialized.links ?? {}).length,
      file_link_count: data.links.length,
      nodes_with_errors: g.nodes.filter((n) => n.has_errors).map((n) => `${n.id} ${n.type}`),
      widget_values_changed: changed,
    };
  }, { text, fileName: path.basename(wf.path) });
}

/** Set widget values through the widgets (as a user would), e.g. fewer sampling steps. */
async function applyOverrides(page, overrides) {
  return page.evaluate((overrides) => {
    const done = [];
    const all = [];
    const walk = (nodes) => { for (const n of nodes) { all.push(n); if (n.subgraph) walk(n.subgraph.nodes); } };
    walk(window.app.graph.nodes);
    for (const node of all) {
      const want = overrides[node.type];
      if (!want) continue;
      for (const [name, value] of Object.entries(want)) {
        const w = node.widgets?.find((x) => x.name === name);
        if (!w) throw new Error(`node ${node.id} (${node.type}) has no widget '${name}'`);
        w.value = value;
        w.callback?.(value, window.app.canvas, node);
        done.push(`${node.id} ${node.type}.${name}=${JSON.stringify(node.widgets.find((x) => x.name === name).value)}`);
      }
    }
    window.app.graph.setDirtyCanvas(true, true);
    return done;
  }, overrides ?? {});
}

async function queueAndWait(page, res, timeoutMs, phase, validateOnly) {
  const responseP = page.waitForResponse((r) => r.url().endsWith('/api/prompt') && r.request().method() === 'POST',
    { timeout: 60_000 });
  // queuePrompt's own return value is not used: 1.32.9 returns false for an accepted prompt
  // (it tests the truthiness of node_errors, which the server sends as {}).
  await page.evaluate(() => window.app.queuePrompt(0, 1));
  const response = await responseP;
  let body = null;
  try { body = await response.json(); } catch { body = await response.text().catch(() => null); }
  res.queue = { status: response.status(), body };
  phase('queue');
  if (response.status() !== 200 || !body?.prompt_id) return;
  const id = body.prompt_id;
  if (validateOnly) {
    // Accepted = passed the server's validation; stop it before it gets far and wait for the
    // server to be idle so the next workflow starts clean.
    const post = (p, b) => fetch(config.url + p, { method: 'POST', body: JSON.stringify(b ?? {}),
      headers: { 'Content-Type': 'application/json' } });
    await post('/api/queue', { delete: [id] });
    await post('/api/interrupt', { prompt_id: id });
    const t0 = Date.now();
    for (;;) {
      const q = await (await fetch(`${config.url}/api/queue`)).json();
      if (!q.queue_running.length && !q.queue_pending.length) break;
      if (Date.now() - t0 > 120_000) { res.driver_error = 'server still busy 120 s after interrupt'; break; }
      await new Promise((r) => setTimeout(r, 300));
    }
    res.interrupted = true;
    return;
  }
  const t0 = Date.now();
  for (;;) {
    const hist = await (await fetch(`${config.url}/api/history/${id}`)).json();
    const entry = hist[id];
    if (entry?.status?.completed || entry?.status?.status_str === 'error') {
      phase('execute');
      res.execution = {
        status: entry.status.status_str,
        seconds: (Date.now() - t0) / 1000,
        errors: entry.status.messages.filter((m) => m[0] === 'execution_error').map((m) => m[1]),
        images: Object.values(entry.outputs ?? {}).flatMap((o) => o.images ?? []),
      };
      return;
    }
    if (Date.now() - t0 > timeoutMs) { res.execution = { status: 'timeout', seconds: (Date.now() - t0) / 1000 }; return; }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The SaveImage/PreviewImage nodes: the images they show, whether the page received their output
 * (app.nodeOutputs, from the server's "executed" message) and whether they lie in the drawn canvas area. */
async function outputNodes(page) {
  return page.evaluate(() => {
    const [vx, vy, vw, vh] = window.app.canvas.visible_area ?? [NaN, NaN, NaN, NaN];
    return window.app.graph.nodes
      .filter((n) => n.type === 'SaveImage' || n.type === 'PreviewImage')
      .map((n) => ({ node: `${n.id} ${n.type}`,
        output_received: (window.app.nodeOutputs?.[String(n.id)]?.images ?? []).length,
        on_canvas: Number.isNaN(vx) ? null
          : n.pos[0] < vx + vw && n.pos[0] + n.size[0] > vx && n.pos[1] < vy + vh && n.pos[1] + n.size[1] > vy,
        images: (n.imgs ?? []).map((i) => ({ src: i.src, width: i.naturalWidth, height: i.naturalHeight })) }));
  });
}

/** Bring the whole graph into view, wait until every output node shows a loaded image; return what they
 * show. The frontend loads an output node's image only when it draws the node, and it draws only nodes
 * in the visible canvas area: with the view the workflow was saved with, an output node off-screen would
 * never show its image (res.outputs_in_saved_view records that view's state). */
async function waitForPreviews(page, res) {
  res.outputs_in_saved_view = await outputNodes(page);
  await frameGraph(page);
  try {
    await page.waitForFunction(() => {
      const outs = window.app.graph.nodes.filter((n) => n.type === 'SaveImage' || n.type === 'PreviewImage');
      return outs.length && outs.every((n) => n.imgs?.length && n.imgs.every((i) => i.complete && i.naturalWidth > 0));
    }, null, { timeout: 30_000 });
  } catch { /* reported below */ }
  return outputNodes(page);
}

/** Fit the whole graph into the canvas area right of the side bar and below the top bar. */
async function frameGraph(page) {
  await page.evaluate(() => {
    const c = window.app.canvas;
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const n of window.app.graph.nodes) {
      const [x, y, w, h] = n.boundingRect ?? [n.pos[0], n.pos[1] - 30, n.size[0], n.size[1] + 30];
      x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + w); y1 = Math.max(y1, y + h);
    }
    const [left, top, right, bottom] = [70, 110, 20, 20];
    const w = c.canvas.clientWidth - left - right, h = c.canvas.clientHeight - top - bottom;
    const scale = Math.min(w / (x1 - x0), h / (y1 - y0), 1.5);
    // litegraph: screen = (graph + offset) * scale
    c.ds.scale = scale;
    c.ds.offset = [(left + (w - (x1 - x0) * scale) / 2) / scale - x0, top / scale - y0];
    c.setDirty(true, true);
  });
}

/** Frame the whole graph and save a PNG. */
async function screenshot(page, file) {
  await frameGraph(page);
  await page.waitForTimeout(500);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file });
}

/** Template browser: this pack's category, each card's name and its thumbnail as the page shows it. */
async function templateCards(page, module) {
  const responses = {};
  const prefix = `/workflow_templates/${module}/`;
  page.on('response', (r) => {
    const u = decodeURIComponent(r.url());
    if (u.includes(prefix) && u.endsWith('.jpg')) responses[u.split(prefix)[1].slice(0, -4)] = r.status();
  });
  await page.click('.templates-tab-button');
  await page.getByText(module, { exact: true }).first().click({ timeout: 30_000 });
  const cards = '[data-testid^="template-workflow-"]';
  await page.waitForSelector(cards, { timeout: 30_000 });
  // Thumbnails load lazily (and the grid may re-render while scrolling): take each card by name, bring it
  // into view, wait for its image (a slow machine needs time) and record what it shows at that moment.
  const names = await page.$$eval(cards, (els) => els.map((c) => c.getAttribute('data-testid')));
  const shown = [];
  for (const testid of names) {
    const card = page.locator(`[data-testid="${testid}"]`).first();
    await card.scrollIntoViewIfNeeded({ timeout: 10_000 }).catch(() => {});
    const seen = await card.evaluate((c) => new Promise((resolve) => {
      const t0 = Date.now();
      const tick = () => {
        const i = c.querySelector('img');
        if ((i && i.complete && i.naturalWidth > 0) || Date.now() - t0 > 60_000) {
          resolve({ title: c.innerText.split('\n')[0], width: i?.naturalWidth ?? 0, height: i?.naturalHeight ?? 0 });
        } else setTimeout(tick, 200);
      };
      tick();
    })).catch((e) => ({ title: null, width: 0, height: 0, error: String(e).slice(0, 200) }));
    shown.push({ name: testid.slice('template-workflow-'.length), ...seen });
  }
  return { cards: shown, thumbnail_responses: responses };
}

/** Insert a subgraph blueprint from the node library (search, click), wire loaders and a SaveImage to it. */
async function insertBlueprint(page, wf) {
  await page.evaluate(() => { window.app.graph.clear(); window.app.graph.setDirtyCanvas(true, true); });  // no default graph
  await page.click('.node-library-tab-button');
  await page.fill('.node-lib-search-box input', wf.blueprint);
  const item = page.locator('.node-lib-node-container', { hasText: wf.blueprint }).first();
  await item.waitFor({ timeout: 30_000 });
  const before = await page.evaluate(() => window.app.graph.nodes.length);
  await item.click();
  await page.waitForFunction((n) => window.app.graph.nodes.length > n, before, { timeout: 30_000 });
  await page.click('.node-library-tab-button');  // close the side panel again
  return page.evaluate(({ name, sources }) => {
    const g = window.app.graph;
    const node = g.nodes.find((n) => n.subgraph);
    if (!node) return { inserted: null };
    const wired = [];
    sources.forEach(([type, values], i) => {
      const src = window.LiteGraph.createNode(type);
      src.pos = [node.pos[0] - 420, node.pos[1] + 340 * i];
      g.add(src);
      values.forEach((v, k) => { if (src.widgets?.[k]) src.widgets[k].value = v; });
      src.connect(0, node, i);
      wired.push(`${type} -> ${node.inputs[i]?.name}`);
    });
    const save = window.LiteGraph.createNode('SaveImage');
    save.pos = [node.pos[0] + node.size[0] + 80, node.pos[1]];
    g.add(save);
    node.connect(0, save, 0);
    g.setDirtyCanvas(true, true);
    return { inserted: { title: node.title, type: node.type, inputs: node.inputs.map((x) => x.name),
      outputs: node.outputs.map((x) => x.name), inner_nodes: node.subgraph.nodes.length,
      proxy_widgets: node.properties?.proxyWidgets ?? [], widgets: (node.widgets ?? []).map((w) => w.name) },
    wired, display_name: name };
  }, { name: wf.blueprint, sources: wf.sources ?? [] });
}

async function runOne(context, wf) {
  const res = { console_errors: [], page_errors: [], phase_seconds: {} };
  let tPhase = Date.now();
  const phase = (name) => { res.phase_seconds[name] = (Date.now() - tPhase) / 1000; tPhase = Date.now(); };
  results.workflows[wf.name] = res;
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') res.console_errors.push(m.text().slice(0, 500)); });
  page.on('pageerror', (e) => res.page_errors.push(String(e?.stack ?? e).slice(0, 1000)));
  const t0 = Date.now();
  try {
    await openApp(page);
    phase('open_app');
    res.dialogs_before_load = await openDialogs(page);
    if (wf.mode === 'templates') {
      Object.assign(res, await templateCards(page, wf.module));
      phase('templates');
      res.screenshot = path.join(config.artifacts_dir, `${wf.name}.png`);
      await page.screenshot({ path: res.screenshot });
      return;
    }
    if (wf.mode === 'blueprint') Object.assign(res, await insertBlueprint(page, wf));
    else Object.assign(res, await loadWorkflow(page, wf));
    await page.waitForTimeout(800);
    res.dialogs_after_load = await openDialogs(page);
    res.overrides = await applyOverrides(page, wf.overrides);
    phase('load');
    const mode = wf.mode === 'blueprint' ? 'run' : (wf.mode ?? 'run');
    if (mode === 'run' || mode === 'validate') {
      await queueAndWait(page, res, config.timeout_s * 1000, phase, mode === 'validate');
      await page.waitForTimeout(1000);
      res.dialogs_after_queue = await openDialogs(page);
      if (res.execution?.status === 'success') res.previews = await waitForPreviews(page, res);
      phase('show_output');
    }
    res.screenshot = path.join(config.artifacts_dir, `${wf.name}.png`);
    await screenshot(page, res.screenshot);
    phase('screenshot');
  } catch (e) {
    res.driver_error = String(e?.stack ?? e);
  } finally {
    res.seconds = (Date.now() - t0) / 1000;
    await page.close().catch(() => {});
    save();
  }
  log(`${wf.name}: ${res.seconds.toFixed(1)} s (${JSON.stringify(res.phase_seconds)}), execution ${res.execution?.status ?? '-'}`);
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'brushedit-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: config.chromium, headless: true, args: CHROMIUM_FLAGS,
  viewport: { width: 1920, height: 1080 },
});
try {
  results.chromium = context.browser()?.version() ?? null;
  // Hide the "Introducing Nodes 2.0" banner (kept in localStorage by the frontend) so it covers nothing.
  // Every workflow starts from empty storage: no workflow restored from the previous page.
  await context.addInitScript(() => {
    localStorage.clear();
    sessionStorage.clear();
    localStorage.setItem('vueNodesBannerDismissed', 'true');
  });
  // The network is closed: answer anything not on the ComfyUI server at once instead of waiting.
  await context.route((u) => !u.href.startsWith(config.url), (r) => r.abort());
  await context.route(`${config.url}/api/settings`, (r) => (r.request().method() === 'GET'
    ? r.fulfill({ json: SETTINGS }) : r.continue()));
  await context.route(`${config.url}/api/settings/**`, (r) => r.fulfill({ status: 200, body: '' }));
  for (const wf of config.workflows) await runOne(context, wf);
} finally {
  save();
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
