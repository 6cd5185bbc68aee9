// Drives the web viewer of a running `lightbox serve` in headless Chromium and checks what a
// user would: the study list finds a study by patient ID; opening it draws the first image, and
// the canvas pixels equal the server's /rendered image for the same window; the wheel changes the
// frame of a multi-frame series; a window/level drag changes the pixels; a length drawn with the
// mouse on an image of known pixel spacing reads the expected millimetres; compressed series
// (JPEG 2000, HTJ2K, palette colour, …) are drawn from frames the server converts and equal its
// /rendered images; an SR and a PDF show as documents. Screenshots go to --out.
//
// Usage: node check.mjs --base URL --out DIR --config JSON [--chromium /usr/bin/chromium]
//   config: {"ct": {"study", "patientId", "series", "sop", "spacing"}, "multiframe": {"study"},
//            "compressed": [{"name", "study", "gray", "images"}], "sr": {"study"}, "pdf": {"study"}}
//
// Prints one JSON line on stdout: {"checks": [{"name", "ok", "detail"}], "files": {name: path},
// "timings": {...}}. Browser errors go to stderr, prefixed with "browser:". Exit status 0 when
// every check passed, 1 otherwise, 2 on bad arguments.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    out: { type: 'string' },
    config: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
if (!args.base || !args.out || !args.config) {
  process.stderr.write('usage: node check.mjs --base URL --out DIR --config JSON [--chromium PATH]\n');
  process.exit(2);
}
const cfg = JSON.parse(args.config);
const note = line => process.stderr.write(`browser: ${line}\n`);
const result = { checks: [], files: {}, timings: {} };
const check = (name, ok, detail) => {
  result.checks.push({ name, ok: !!ok, detail });
  return ok;
};

// The flags this closed network needs: without the background-networking ones Chromium's own
// connections are refused and it stalls.
const flags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const pngOf = dataURL => PNG.sync.read(Buffer.from(dataURL.slice(dataURL.indexOf(',') + 1), 'base64'));

let browser;
try {
  browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: flags, timeout: 30000 });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
  const origin = new URL(args.base).origin;
  await context.route(
    u => /^(https?|wss?):$/.test(u.protocol) && u.origin !== origin,
    route => {
      note(`blocked outside request: ${route.request().url()}`);
      return route.abort('blockedbyclient');
    },
  );
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('console', m => {
    if (m.type() === 'error') note(`console.error: ${m.text()}`);
  });
  page.on('pageerror', e => {
    note(`pageerror: ${e.message}`);
    check(`no script error (${e.message})`, false, e.stack);
  });
  page.on('response', r => {
    if (r.status() >= 400) note(`http ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  const shot = async name => {
    const f = join(args.out, `${name}.png`);
    await page.screenshot({ path: f });
    result.files[name] = f;
  };
  const state = () => page.evaluate(() => window.lightbox.viewports()[0]);
  const canvasPNG = () => page.evaluate(() => document.querySelector('.viewport canvas.image').toDataURL('image/png')).then(pngOf);
  const waitDrawn = () => page.waitForFunction(() => window.lightbox && window.lightbox.viewports()[0]?.drawn > 0);
  const frame = () => page.evaluate(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))));

  // Compares the canvas, drawn at one image pixel per canvas pixel, with the server's /rendered
  // PNG of the image in view (for the window given, or the server's default). Returns the
  // counts and keeps both images as name-rendered.png and name-canvas.png.
  const compareRendered = async (name, win) => {
    if (win) await page.evaluate(w => window.lightbox.setWindow(w[0], w[1]), win);
    await page.evaluate(() => window.lightbox.actualSize());
    await frame();
    const st = await state();
    const canvas = await canvasPNG();
    const [a, b, c, d, e, f] = st.deviceMatrix;
    const v = await page.evaluate(() => window.lightbox.viewports()[0]);
    const series = await page.evaluate(() => window.lightbox.series()?.uid ?? '');
    const study = new URL(page.url()).searchParams.get('StudyInstanceUIDs');
    const url = `${args.base}/dicom-web/studies/${study}/series/${series}/instances/${v.sop}/frames/${v.frame}/rendered${win ? `?window=${win[0]},${win[1]}` : ''}`;
    const resp = await fetch(url, { headers: { Accept: 'image/png' } });
    const rendered = PNG.sync.read(Buffer.from(await resp.arrayBuffer()));
    let compared = 0;
    let over1 = 0;
    let maxDiff = 0;
    if (a === 1 && d === 1 && b === 0 && c === 0) {
      for (let y = 0; y < rendered.height; y++) {
        for (let x = 0; x < rendered.width; x++) {
          const cx = x + e;
          const cy = y + f;
          if (cx < 0 || cy < 0 || cx >= canvas.width || cy >= canvas.height) continue;
          compared++;
          let worst = 0;
          for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(rendered.data[4 * (y * rendered.width + x) + k] - canvas.data[4 * (cy * canvas.width + cx) + k]));
          if (worst > 1) over1++;
          if (worst > maxDiff) maxDiff = worst;
        }
      }
    }
    for (const [k, img] of [['rendered', rendered], ['canvas', canvas]]) {
      const file = join(args.out, `${name}-${k}.png`);
      writeFileSync(file, PNG.sync.write(img));
      result.files[`${name}-${k}`] = file;
    }
    const ok = resp.ok && compared >= rendered.width * rendered.height * 0.99 && over1 === 0;
    const detail = `compared ${compared} pixels of ${rendered.width}×${rendered.height}; ${over1} differ by more than 1; max difference ${maxDiff}; matrix ${JSON.stringify(st.deviceMatrix)}; /rendered ${resp.status}`;
    return { ok, detail, st };
  };

  // A window/level drag from the middle of the viewport; returns the pixels changed and the windows.
  const dragWindow = async () => {
    const box = await page.locator('.viewport').first().boundingBox();
    const before = await canvasPNG();
    const w0 = (await state()).window;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + box.width / 2 + 12 * i, box.y + box.height / 2 + 6 * i);
    await page.mouse.up();
    await frame();
    const after = await canvasPNG();
    let changed = 0;
    for (let i = 0; i < before.data.length; i += 4) if (before.data[i] !== after.data[i]) changed++;
    const w1 = (await state()).window;
    return { ok: changed > 1000 && !!w0 && !!w1 && (w1.center !== w0.center || w1.width !== w0.width), detail: `window ${JSON.stringify(w0)} → ${JSON.stringify(w1)}; ${changed} pixels changed`, box };
  };

  // 1. The study list finds the CT by patient ID, typed into the form.
  const t0 = Date.now();
  await page.goto(`${args.base}/`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#app[data-state="ready"]');
  await page.fill('input[name="id"]', cfg.ct.patientId);
  await page.press('input[name="id"]', 'Enter');
  await page.waitForFunction(id => new URLSearchParams(location.search).get('id') === id && document.querySelector('#app').dataset.state === 'ready', cfg.ct.patientId);
  const rows = await page.$$eval('table.studies tbody tr', trs => trs.map(tr => tr.dataset.study));
  const status = await page.textContent('.status');
  check('study list finds the study by patient ID (filter kept in the URL)', rows.includes(cfg.ct.study) && rows.length === 1, `rows ${JSON.stringify(rows)}; "${status}"; url ${page.url()}`);
  await shot('list');

  // 2. Opening it draws the first image.
  const openStart = Date.now();
  await page.click(`tr[data-study="${cfg.ct.study}"] a`);
  await page.waitForURL(/\/viewer\?StudyInstanceUIDs=/);
  await waitDrawn();
  result.timings.listToFirstImageMs = Date.now() - openStart;
  let st = await state();
  check('opening the study draws its first image', st.pixels === 'gray' && st.sop === cfg.ct.sop, `state ${JSON.stringify({ pixels: st.pixels, sop: st.sop, error: st.error, window: st.window })}`);
  await shot('ct-first');

  // 3. The canvas equals /rendered for the same window, at one image pixel per canvas pixel.
  const cmp = await compareRendered('ct', [40, 400]);
  check('canvas pixels equal /rendered for the same window (±1)', cmp.ok, cmp.detail);
  await shot('ct-actual-size');

  // 4. A window/level drag changes the pixels.
  const drag = await dragWindow();
  const box = drag.box;
  check('a window/level drag changes the window and the pixels', drag.ok, drag.detail);
  await shot('ct-window-drag');

  // 5. A length drawn with the mouse: 200 image pixels along a row.
  await page.keyboard.press('l');
  await page.evaluate(() => window.lightbox.actualSize());
  await frame();
  st = await state();
  const m = st.cssMatrix;
  const toScreen = (x, y) => ({ x: box.x + m[0] * x + m[2] * y + m[4], y: box.y + m[1] * x + m[3] * y + m[5] });
  const p0 = toScreen(156, 300);
  const p1 = toScreen(356, 300);
  await page.mouse.move(p0.x, p0.y);
  await page.mouse.down();
  await page.mouse.move((p0.x + p1.x) / 2, p0.y, { steps: 4 });
  await page.mouse.move(p1.x, p1.y, { steps: 4 });
  await page.mouse.up();
  await frame();
  const labelText = await page.textContent('.viewport svg.measures g.length text');
  const mm = parseFloat(labelText);
  const want = 200 * cfg.ct.spacing;
  check(`a 200-pixel length on ${cfg.ct.spacing} mm pixels reads ${want.toFixed(2)} mm (±0.5)`, Math.abs(mm - want) <= 0.5 && /mm/.test(labelText), `label "${labelText}"; screen ${JSON.stringify([p0, p1])}`);
  await shot('ct-length');

  // 6. Scrolling a multi-frame series with the wheel changes the frame and the pixels.
  await page.goto(`${args.base}/viewer?StudyInstanceUIDs=${cfg.multiframe.study}`, { waitUntil: 'domcontentloaded' });
  await waitDrawn();
  await page.waitForFunction(() => {
    const v = window.lightbox.viewports()[0];
    return v.loaded >= 2;
  });
  st = await state();
  const f0 = await canvasPNG();
  await shot('multiframe-0');
  const vb = await page.locator('.viewport').first().boundingBox();
  await page.mouse.move(vb.x + vb.width / 2, vb.y + vb.height / 2);
  await page.mouse.wheel(0, 120);
  await page.waitForFunction(() => window.lightbox.viewports()[0].index === 1);
  await frame();
  const st1 = await state();
  const f1 = await canvasPNG();
  let diff = 0;
  for (let i = 0; i < f0.data.length; i += 4) if (f0.data[i] !== f1.data[i]) diff++;
  check('the wheel moves to the next frame and draws it', st.count > 1 && st1.index === 1 && st1.frame === 2 && diff > 100, `frames ${st.count}; index ${st.index} → ${st1.index} (frame ${st1.frame}); ${diff} pixels changed`);
  await page.keyboard.press('End');
  await frame();
  const stEnd = await state();
  check('End moves to the last frame', stEnd.index === st.count - 1, `index ${stEnd.index} of ${st.count}`);
  await shot('multiframe-last');

  // 7. Compressed series: the frames come uncompressed from the server, converted from their
  // stored syntax, and are windowed here; each image equals /rendered for the same window (grey)
  // or the server's rendering (colour), and a window/level drag changes a grey image.
  for (const c of cfg.compressed ?? []) {
    await page.goto(`${args.base}/viewer?StudyInstanceUIDs=${c.study}`, { waitUntil: 'domcontentloaded' });
    await waitDrawn();
    await page.waitForFunction(n => {
      const v = window.lightbox.viewports()[0];
      return v.count >= n && v.loaded >= n;
    }, c.images ?? 1);
    const count = (await state()).count;
    for (let i = 0; i < Math.min(count, c.images ?? 1); i++) {
      await page.evaluate(i => window.lightbox.step(i - window.lightbox.viewports()[0].index), i);
      await frame();
      st = await state();
      const label = `${c.name} image ${i + 1} (transfer syntax ${st.transferSyntax})`;
      check(`${label}: drawn from uncompressed frames, not by the server`, st.pixels === (c.gray ? 'gray' : 'color'), JSON.stringify({ pixels: st.pixels, error: st.error }));
      const r = await compareRendered(`${c.name}-${i + 1}`, c.gray ? [40, 400] : undefined);
      check(`${label}: canvas pixels equal /rendered${c.gray ? ' for the same window' : ''} (±1)`, r.ok, r.detail);
    }
    await shot(c.name);
    if (c.gray) {
      const d = await dragWindow();
      check(`${c.name}: a window/level drag changes the window and the pixels`, d.ok, d.detail);
    }
  }

  // 8. SR and PDF show as documents.
  for (const kind of ['sr', 'pdf']) {
    if (!cfg[kind]) continue;
    await page.goto(`${args.base}/viewer?StudyInstanceUIDs=${cfg[kind].study}`, { waitUntil: 'domcontentloaded' });
    const sel = kind === 'sr' ? '.viewport .doc.sr li' : '.viewport .doc.pdf iframe';
    const ok = await page
      .waitForSelector(sel, { timeout: 10000 })
      .then(() => true)
      .catch(() => false);
    const text = await page.textContent('.viewport .document').catch(() => '');
    check(`the ${kind.toUpperCase()} shows as a document`, ok, text.slice(0, 200));
    await page.waitForTimeout(kind === 'pdf' ? 800 : 100);
    await shot(kind);
  }
  result.timings.totalMs = Date.now() - t0;
} catch (err) {
  check('browser run', false, String(err && err.stack ? err.stack : err));
} finally {
  await browser?.close().catch(() => {});
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(result.checks.every(c => c.ok) ? 0 : 1);
