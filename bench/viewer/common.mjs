// What bench.mjs and floor.mjs share: how they wait for the page, and for the machine.
import { readFileSync } from 'node:fs';

/**
 * Waits in the page for a performance mark through the DevTools protocol. page.waitForFunction
 * would evaluate playwright's own page script on first use: 50-70 ms of main-thread work on a
 * 2-core machine, landing on the path to the first image, which no user's browser does.
 */
export async function waitMark(cdp, name, timeoutMs) {
  const expression = `new Promise((resolve, reject) => {
    const has = () => performance.getEntriesByName(${JSON.stringify(name)}).length > 0;
    if (has()) return resolve(true);
    const o = new PerformanceObserver(() => { if (has()) { o.disconnect(); resolve(true); } });
    o.observe({ type: 'mark' });
    setTimeout(() => reject(new Error('no ${name} mark after ${timeoutMs} ms')), ${timeoutMs});
  })`;
  const r = await cdp.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
  if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
}

/**
 * Waits ms, then until the machine's run queue is short: a browser just started keeps both cores
 * of a small machine busy for a second or two (processes starting, a profile created), which
 * a user opening a study in a running browser does not meet.
 */
export async function settle(ms) {
  await new Promise(r => setTimeout(r, ms));
  for (let i = 0; i < 50; i++) {
    const running = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[3].split('/')[0]);
    if (running <= 2) return;
    await new Promise(r => setTimeout(r, 100));
  }
}
