// The floor of the viewer's benchmark on this machine: a minimal page, served from the same
// origin, that does only what the viewer cannot avoid, measured the same way as bench.mjs (a
// new browser per run, a first page of the origin loaded, then the page under test):
//
//   first image: the first instance's attributes (the same QIDO-RS query as the viewer's probe),
//     its first frame uncompressed, a fixed window into an ImageData, putImageData into a
//     canvas, the next animation frame;
//   all loaded: then the whole series in one WADO-RS response, read through one reused buffer
//     (a BYOB reader) and each part copied once into a buffer of its own, by its Content-Length.
//
// No study list, layout, viewport code, lookup tables or metadata: what remains is the
// browser's and the machine's own cost of two requests, a canvas and 263 MB held. Run by run.sh
// beside bench.mjs; not a test.
//
// Usage: node floor.mjs --base URL --study UID [--runs 3] [--settle 2000] [--chromium /usr/bin/chromium]
// Prints one JSON line per run and a summary line on stdout.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { settle, waitMark } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../tests/viewer/package.json'));
const { chromium } = require('playwright-core');

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    study: { type: 'string' },
    runs: { type: 'string', default: '3' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    settle: { type: 'string', default: '2000' },
  },
});
if (!args.base || !args.study) {
  process.stderr.write('usage: node floor.mjs --base URL --study UID [--runs N]\n');
  process.exit(2);
}

const flags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// The page's script; STUDY is replaced. It reads what it needs of the DICOM JSON and of the
// multipart framing by hand.
const script = `(async () => {
  const base = '/dicom-web/studies/STUDY';
  const json = await (await fetch(base + '/instances?includefield=all&orderby=SeriesNumber%2CInstanceNumber&limit=1', { headers: { Accept: 'application/dicom+json' } })).json();
  const v = tag => json[0][tag].Value[0];
  const series = base + '/series/' + v('0020000E');
  const rows = v('00280010'), cols = v('00280011'), n = rows * cols;
  const body = new Uint8Array(await (await fetch(series + '/instances/' + v('00080018') + '/frames/1', { headers: { Accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1' } })).arrayBuffer());
  let at = 0;
  while (!(body[at] === 13 && body[at + 1] === 10 && body[at + 2] === 13 && body[at + 3] === 10)) at++;
  const px = new Int16Array(body.buffer.slice(at + 4, at + 4 + 2 * n));
  if (document.readyState === 'loading') await new Promise(r => addEventListener('DOMContentLoaded', r));
  const canvas = document.createElement('canvas');
  canvas.width = cols;
  canvas.height = rows;
  canvas.style.height = '950px';
  document.body.append(canvas);
  const ctx = canvas.getContext('2d', { alpha: false });
  const im = ctx.createImageData(cols, rows);
  const out = new Uint32Array(im.data.buffer);
  for (let i = 0; i < n; i++) out[i] = 0xff000000 | (Math.max(0, Math.min(255, ((px[i] + 160) * 255) / 400)) | 0) * 0x10101;
  ctx.putImageData(im, 0, 0);
  await new Promise(r => requestAnimationFrame(r));
  performance.mark('floor:first-image');

  const resp = await fetch(series, { headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
  const reader = resp.body.getReader({ mode: 'byob' });
  let buf = new ArrayBuffer(1 << 20);
  let head = '';
  let part = null, filled = 0, parts = 0, bytes = 0;
  const kept = [];
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buf));
    if (done) break;
    let i = 0;
    while (i < value.length) {
      if (part) {
        const k = Math.min(value.length - i, part.length - filled);
        part.set(value.subarray(i, i + k), filled);
        filled += k;
        i += k;
        if (filled === part.length) { kept.push(part); parts++; bytes += part.length; part = null; head = ''; }
        continue;
      }
      head += String.fromCharCode(value[i++]);
      if (head.endsWith('\\r\\n\\r\\n')) {
        const m = /content-length:\\s*(\\d+)/i.exec(head);
        if (!m) throw new Error('a part without Content-Length');
        part = new Uint8Array(Number(m[1]));
        filled = 0;
      }
    }
    buf = value.buffer;
  }
  performance.mark('floor:all-loaded');
  window.floor = { parts, bytes, held: kept.length };
})();`;

const runs = [];
for (let r = 0; r < Number(args.runs); r++) {
  const browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: flags });
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.on('pageerror', e => process.stderr.write(`pageerror: ${e.message}\n`));
    const cdp = await context.newCDPSession(page);
    const html = `<!doctype html><html><head><meta charset="utf-8"><script>${script.replace('STUDY', args.study)}</script></head><body style="margin:0;background:#000"></body></html>`;
    await page.route(`${args.base}/lightbox-bench-floor`, route => route.fulfill({ status: 200, contentType: 'text/html', body: html }));
    // As in bench.mjs: a first page of the origin, then the page under test.
    await page.goto(`${args.base}/healthz`, { waitUntil: 'load' });
    await settle(Number(args.settle));
    await page.goto(`${args.base}/lightbox-bench-floor`, { waitUntil: 'domcontentloaded' });
    await waitMark(cdp, 'floor:all-loaded', 60000);
    const t = await page.evaluate(() => ({
      first: performance.getEntriesByName('floor:first-image')[0].startTime,
      all: performance.getEntriesByName('floor:all-loaded')[0].startTime,
      ...window.floor,
    }));
    const run = { floorRun: r + 1, firstImageMs: +t.first.toFixed(1), allLoadedMs: +t.all.toFixed(1), parts: t.parts, MB: +(t.bytes / 1e6).toFixed(1) };
    runs.push(run);
    process.stdout.write(`${JSON.stringify(run)}\n`);
  } finally {
    await browser.close();
  }
}
const median = k => {
  const v = runs.map(x => x[k]).sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
};
process.stdout.write(`${JSON.stringify({ summary: 'floor median', runs: runs.length, firstImageMs: median('firstImageMs'), allLoadedMs: median('allLoadedMs') })}\n`);
