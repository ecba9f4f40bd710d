// Debian's chromium, headless, driven by playwright-core; pages come with a
// recorder of livegate:* events and a switch for document.hidden.

import fs from 'node:fs';
import { chromium } from 'playwright-core';
import { waitFor } from './procs.mjs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// args: more Chromium flags (--ignore-certificate-errors for a self-signed one).
export function launch(args = []) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)`);
  }
  // Playwright gives the browser a fresh temporary --user-data-dir.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...args,
    ],
  });
}

// Runs in every page before its own scripts (and so before livegate.js):
// window.__lg.events records every livegate:* event with its detail.
export function recordEvents() {
  const lg = { events: [], hidden: false };
  window.__lg = lg;
  for (const name of ['connected', 'disconnected', 'refreshed', 'error', 'invalidate', 'degraded', 'restored',
    'transport']) {
    document.addEventListener(`livegate:${name}`, (e) => {
      lg.events.push({ name, detail: JSON.parse(JSON.stringify(e.detail ?? null)), at: Date.now() });
    });
  }
}

// Headless Chromium always reports pages as visible and CDP has no way to
// change that, so document.hidden/visibilityState are redefined to read a
// flag that window.__lgSetHidden flips, firing a real visibilitychange: the
// script's own visibility code runs unchanged. Runs after recordEvents().
// (A Chromium whose tabs really hide: next-app.mjs, launchWithRealTabs.)
function fakeVisibility() {
  const lg = window.__lg;
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => lg.hidden });
  Object.defineProperty(document, 'visibilityState', {
    configurable: true, get: () => (lg.hidden ? 'hidden' : 'visible'),
  });
  window.__lgSetHidden = (hidden) => {
    lg.hidden = hidden;
    document.dispatchEvent(new Event('visibilitychange'));
  };
}

// With { fakeClock: true } the page's timers are Playwright's fake clock,
// which the test moves on with page.clock.runFor(). `until`: the livegate
// event to wait for before returning (null: none). `context`: open the page
// there (tabs of one browser share Web Locks and BroadcastChannel) instead
// of in a context of its own.
export async function openPage(browser, url, { fakeClock = false, initScript = null, until = 'connected', context = null } = {}) {
  if (context) return setUp(await context.newPage(), url, until);
  context = await newContext(browser);
  if (initScript) await context.addInitScript(initScript);
  if (fakeClock) await context.clock.install();
  return setUp(await context.newPage(), url, until);
}

// A context whose pages record livegate's events and can be made to look hidden.
export async function newContext(browser) {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  await context.addInitScript(recordEvents);
  await context.addInitScript(fakeVisibility);
  return context;
}

async function setUp(page, url, until) {
  page.consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.consoleErrors.push(m.text());
  });
  page.subscribeFrames = [];
  page.subscribedFrames = []; // livegate's answers: `subscribed` with its channels
  page.pings = 0;
  page.on('websocket', (ws) => {
    ws.on('framereceived', (f) => {
      try {
        const msg = JSON.parse(f.payload);
        if (msg.type === 'subscribed') page.subscribedFrames.push(msg);
      } catch {
        // not JSON: not ours to record
      }
    });
    ws.on('framesent', (f) => {
      try {
        const msg = JSON.parse(f.payload);
        if (msg.type === 'subscribe') page.subscribeFrames.push({ ...msg, sentAt: Date.now() });
        if (msg.type === 'ping') page.pings++;
      } catch {
        // not JSON: not ours to record
      }
    });
  });
  page.sockets = 0;
  page.on('websocket', () => { page.sockets++; });
  await page.goto(url);
  if (until) await waitForEvent(page, until, 1);
  return page;
}

export function events(page, name) {
  return page.evaluate((n) => window.__lg.events.filter((e) => e.name === n), name);
}

// Waits until the page has recorded `count` events called `name` in total.
export async function waitForEvent(page, name, count, timeout = 15000) {
  return waitFor(`${count} livegate:${name} event(s)`, async () => {
    const list = await events(page, name);
    return list.length >= count ? list : null;
  }, { timeout });
}

export async function countEvents(page, name) {
  return (await events(page, name)).length;
}
