// Opens a viewer URL of the OHIF Viewer in headless Chromium and waits until a viewport canvas
// shows an image (pixels that are not all alike), then saves screenshots.
//
// Usage: node open-study.mjs --url URL --out DIR [--timeout-ms 60000] [--chromium /usr/bin/chromium]
//
// Prints one JSON line on stdout: {"ok", "reason", "timings", "canvas", "files"}. Browser console
// errors, page errors, failed requests and HTTP errors go to stderr, one per line, prefixed with
// "browser:". Exit status: 0 an image is drawn; 1 none within the time (or the browser failed);
// 2 bad arguments.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    out: { type: 'string' },
    'timeout-ms': { type: 'string', default: '60000' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
if (!args.url || !args.out) {
  process.stderr.write('usage: node open-study.mjs --url URL --out DIR [--timeout-ms N] [--chromium PATH]\n');
  process.exit(2);
}
const timeoutMs = Number(args['timeout-ms']);
const t0 = Date.now();
const since = () => Date.now() - t0;
const note = line => process.stderr.write(`browser: ${line}\n`);

// The flags this closed network needs: without the background-networking ones Chromium's own
// connections are refused and it stalls.
const flags = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // WebGL through the software rasterizer, since there is no GPU: Cornerstone3D renders with it.
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

// stats describes a decoded PNG's pixels: how many distinct grey levels and their spread.
function stats(png) {
  const levels = new Set();
  let n = 0;
  let sum = 0;
  let sum2 = 0;
  let nonBlack = 0;
  const d = png.data;
  for (let i = 0; i < d.length; i += 4) {
    const y = Math.round(0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]);
    levels.add(y);
    n++;
    sum += y;
    sum2 += y * y;
    if (y > 8) nonBlack++;
  }
  const mean = n ? sum / n : 0;
  const sd = n ? Math.sqrt(Math.max(0, sum2 / n - mean * mean)) : 0;
  return {
    width: png.width,
    height: png.height,
    levels: levels.size,
    mean: +mean.toFixed(2),
    sd: +sd.toFixed(2),
    nonBlack: n ? +(nonBlack / n).toFixed(4) : 0,
  };
}

// drawn tells an image from an empty, uniform or nearly uniform canvas: a CT slice has many grey
// levels and a large spread; an empty viewport is one colour.
const drawn = s => s.width > 16 && s.height > 16 && s.levels >= 32 && s.sd >= 10 && s.nonBlack >= 0.02;

// The names of the viewer's display set warnings (DisplaySetMessage.CODES, from 1).
const messageCodes = [null, 'NO_VALID_INSTANCES', 'NO_POSITION_INFORMATION', 'NOT_RECONSTRUCTABLE',
  'MULTIFRAME_NO_PIXEL_MEASUREMENTS', 'MULTIFRAME_NO_ORIENTATION', 'MULTIFRAME_NO_POSITION_INFORMATION',
  'MISSING_FRAMES', 'IRREGULAR_SPACING', 'INCONSISTENT_DIMENSIONS', 'INCONSISTENT_COMPONENTS',
  'INCONSISTENT_ORIENTATIONS', 'INCONSISTENT_POSITION_INFORMATION', 'UNSUPPORTED_DISPLAYSET',
  'UNSUPPORTED_SOP_CLASS_UID', 'MISSING_SOP_CLASS_UID'];

const profile = mkdtempSync(join(tmpdir(), 'lightbox-ohif-profile-'));
let context;
const result = { ok: false, reason: '', timings: {}, canvas: null, files: {}, webgl: null, displaySets: null };
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: args.chromium,
    headless: true,
    args: flags,
    viewport: { width: 1280, height: 800 },
    timeout: 30000,
  });
  result.timings.launchMs = since();
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', m => {
    if (m.type() === 'error') note(`console.error: ${m.text()}`);
  });
  page.on('pageerror', e => note(`pageerror: ${e.message}`));
  page.on('requestfailed', r => note(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', r => {
    if (r.status() >= 400) note(`http ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  // Requests anywhere but the page's own origin are cut at once: the viewer must need nothing
  // from outside, and nothing here can reach outside.
  const origin = new URL(args.url).origin;
  await context.route(
    u => u.origin !== origin,
    route => {
      note(`blocked outside request: ${route.request().url()}`);
      return route.abort('blockedbyclient');
    },
  );

  await page.goto(args.url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
  result.timings.domContentLoadedMs = since();
  result.webgl = await page.evaluate(() => {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return 'none';
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : 'webgl2';
  });

  const deadline = t0 + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    // Cornerstone3D draws each viewport into a 2D canvas (class cornerstone-canvas) inside the
    // viewport's element, which the viewer marks with data-viewportid; thumbnails, drawn through
    // canvases of their own, are left out by that and by their size. The pixels are read
    // through toDataURL, which works for 2D and WebGL canvases alike.
    const shots = await page
      .evaluate(() =>
        [...document.querySelectorAll('[data-viewportid] canvas')]
          .filter(c => {
            const r = c.getBoundingClientRect();
            return c.width > 0 && c.height > 0 && r.width >= 200 && r.height >= 200;
          })
          .map(c => ({ w: c.width, h: c.height, url: c.toDataURL('image/png') })),
      )
      .catch(() => []);
    if (shots.length && result.timings.firstCanvasMs === undefined) result.timings.firstCanvasMs = since();
    for (const s of shots) {
      const png = PNG.sync.read(Buffer.from(s.url.slice(s.url.indexOf(',') + 1), 'base64'));
      const st = stats(png);
      last = st;
      if (drawn(st)) {
        result.ok = true;
        result.canvas = st;
        result.timings.drawnMs = since();
        const file = join(args.out, 'viewport-canvas.png');
        writeFileSync(file, PNG.sync.write(png));
        result.files.canvas = file;
        break;
      }
    }
    if (result.ok) break;
    await page.waitForTimeout(500);
  }
  if (!result.ok) {
    result.canvas = last;
    result.reason = last
      ? `no viewport canvas showed an image within ${timeoutMs} ms (last: ${JSON.stringify(last)})`
      : `no viewport canvas appeared within ${timeoutMs} ms`;
  } else {
    // Close the first-visit tour, if any, and let overlays settle before the picture for people.
    const skip = page.getByText('Skip all', { exact: true });
    if (await skip.isVisible().catch(() => false)) await skip.click({ timeout: 2000 }).catch(() => {});
    await page.waitForTimeout(1000);
    // What the viewer made of the study: its display sets and the warnings it attached to them
    // (the ⚠ on a thumbnail), e.g. missing or inconsistent attributes in our metadata.
    result.displaySets = await page
      .evaluate(codes =>
        (window.services?.displaySetService?.getActiveDisplaySets() ?? []).map(ds => ({
          modality: ds.Modality,
          series: ds.SeriesInstanceUID,
          description: ds.SeriesDescription,
          images: ds.numImageFrames ?? ds.images?.length,
          reconstructable: ds.isReconstructable,
          messages: (ds.messages?.messages ?? []).map(m => ({ code: codes[m.id] ?? m.id, args: m.args })),
        })),
        messageCodes,
      )
      .catch(e => [{ error: e.message }]);
  }
  const pageFile = join(args.out, 'viewer.png');
  await page.screenshot({ path: pageFile });
  result.files.page = pageFile;
  const viewport = page.locator('[data-viewportid]').first();
  if (await viewport.count()) {
    const vpFile = join(args.out, 'viewport.png');
    await viewport.screenshot({ path: vpFile, timeout: 5000 }).then(
      () => (result.files.viewport = vpFile),
      e => note(`viewport screenshot: ${e.message}`),
    );
  }
  result.timings.totalMs = since();
} catch (e) {
  result.ok = false;
  result.reason = `browser failed: ${e.message}`;
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(result.ok ? 0 : 1);
