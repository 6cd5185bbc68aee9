// Measures the web viewer in headless Chromium with the Performance API: from opening
// /viewer?StudyInstanceUIDs=… (navigation start) to the first image on the canvas, to every
// slice of the series loaded, the scrolling rate once loaded (one slice per animation frame, as
// fast as the browser draws), the cost of one slice change, and the tab's memory (the renderer
// process's resident and proportional set sizes, the JS heap, and the pixel bytes the viewer
// holds). Run by run.sh; not a test.
//
// Usage: node bench.mjs --base URL --study UID [--runs 3] [--settle 2000] [--chromium /usr/bin/chromium]
// Prints one JSON line per run and a summary line on stdout.
import { readFileSync, readdirSync } from 'node:fs';
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
  process.stderr.write('usage: node bench.mjs --base URL --study UID [--runs N]\n');
  process.exit(2);
}

const flags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Processes by PID: parent and command line. */
function processes() {
  const out = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      out.set(Number(d), { ppid, cmd });
    } catch {
      // gone
    }
  }
  return out;
}

/** RSS and PSS (MiB) of the largest renderer process under the browser started with marker. */
function rendererMemory(marker) {
  const ps = processes();
  const root = [...ps.entries()].find(([, p]) => p.cmd.includes(marker) && !p.cmd.includes('--type='))?.[0];
  if (!root) return null;
  const under = pid => {
    for (let p = ps.get(pid)?.ppid; p; p = ps.get(p)?.ppid) if (p === root) return true;
    return false;
  };
  let best = null;
  for (const [pid, p] of ps) {
    if (!p.cmd.includes('--type=renderer') || !under(pid)) continue;
    try {
      const roll = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const kb = name => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(roll)?.[1] ?? 0);
      const m = { pid, rssMiB: kb('Rss') / 1024, pssMiB: kb('Pss') / 1024 };
      if (!best || m.rssMiB > best.rssMiB) best = m;
    } catch {
      // gone
    }
  }
  return best;
}

const runs = [];
for (let r = 0; r < Number(args.runs); r++) {
  const marker = `--lightbox-bench-run=${process.pid}-${r}`;
  const browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: [...flags, marker] });
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.on('pageerror', e => process.stderr.write(`pageerror: ${e.message}\n`));
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    // The page's own code is cached after a first load of the study list, as for a user who
    // comes back; the series is not. The new browser is let settle before the study is opened.
    await page.goto(`${args.base}/`, { waitUntil: 'load' });
    await settle(Number(args.settle));
    await page.goto(`${args.base}/viewer?StudyInstanceUIDs=${args.study}`, { waitUntil: 'domcontentloaded' });
    await waitMark(cdp, 'lightbox:all-loaded', 60000);
    const t = await page.evaluate(() => {
      const mark = n => performance.getEntriesByName(n)[0]?.startTime ?? NaN;
      const nav = performance.getEntriesByType('navigation')[0];
      const s = window.lightbox.series();
      return {
        domContentLoaded: nav.domContentLoadedEventEnd,
        seriesStart: s.timing.start,
        metadata: s.timing.metadata,
        firstPixels: s.timing.first,
        firstImage: mark('lightbox:first-image'),
        allLoaded: mark('lightbox:all-loaded'),
        images: s.images,
        pixelMiB: s.bytes / 2 ** 20,
      };
    });
    // Scrolling: one slice change per animation frame through the whole series, twice.
    const scroll = await page.evaluate(
      () =>
        new Promise(resolve => {
          const lb = window.lightbox;
          lb.step(-10000);
          const n = 2 * (lb.series().images - 1);
          let dir = 1;
          let k = 0;
          const draws0 = lb.viewports()[0].draws;
          const t0 = performance.now();
          const tick = () => {
            if (k === n) {
              const ms = performance.now() - t0;
              const draws = lb.viewports()[0].draws - draws0;
              resolve({ frames: draws, ms, fps: (1000 * draws) / ms });
              return;
            }
            const v = lb.viewports()[0];
            if (v.index === v.count - 1) dir = -1;
            if (v.index === 0) dir = 1;
            lb.step(dir);
            k++;
            requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        }),
    );
    // The browser's own animation frame rate, as the ceiling of the scrolling rate.
    const rafFps = await page.evaluate(
      () =>
        new Promise(resolve => {
          let n = 0;
          const t0 = performance.now();
          const tick = () => {
            if (++n === 120) resolve((1000 * n) / (performance.now() - t0));
            else requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        }),
    );
    // The cost of one slice change (window applied, drawn), without waiting for frames.
    const drawMs = await page.evaluate(() => {
      const lb = window.lightbox;
      const times = [];
      for (let i = 0; i < 200; i++) {
        lb.step(i % 2 ? -1 : 1);
        times.push(lb.drawNow());
      }
      times.sort((a, b) => a - b);
      return { median: times[100], p95: times[190] };
    });
    const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map(m => [m.name, m.value]));
    const mem = rendererMemory(marker);
    const run = {
      run: r + 1,
      images: t.images,
      firstImageMs: +t.firstImage.toFixed(1),
      allLoadedMs: +t.allLoaded.toFixed(1),
      domContentLoadedMs: +t.domContentLoaded.toFixed(1),
      seriesOpenMs: +t.seriesStart.toFixed(1),
      metadataMs: +(t.metadata - t.seriesStart).toFixed(1),
      firstPixelsMs: +t.firstPixels.toFixed(1),
      scrollFps: +scroll.fps.toFixed(1),
      scrollFrames: scroll.frames,
      rafFps: +rafFps.toFixed(1),
      drawMedianMs: +drawMs.median.toFixed(2),
      drawP95Ms: +drawMs.p95.toFixed(2),
      pixelMiB: +t.pixelMiB.toFixed(1),
      jsHeapUsedMiB: +(metrics.JSHeapUsedSize / 2 ** 20).toFixed(1),
      rendererRssMiB: mem ? +mem.rssMiB.toFixed(1) : null,
      rendererPssMiB: mem ? +mem.pssMiB.toFixed(1) : null,
    };
    runs.push(run);
    process.stdout.write(`${JSON.stringify(run)}\n`);
  } finally {
    await browser.close();
  }
}
const median = k => {
  const v = runs.map(r => r[k]).filter(x => typeof x === 'number').sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)] : null;
};
const keys = ['firstImageMs', 'allLoadedMs', 'scrollFps', 'rafFps', 'drawMedianMs', 'rendererRssMiB', 'rendererPssMiB', 'jsHeapUsedMiB', 'pixelMiB'];
process.stdout.write(`${JSON.stringify({ summary: 'median', runs: runs.length, ...Object.fromEntries(keys.map(k => [k, median(k)])) })}\n`);
