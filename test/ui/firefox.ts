/**
 * Headless Firefox for the /ui tests: Debian's stock `firefox-esr` (installed by .ci/run), driven
 * by puppeteer-core over WebDriver BiDi, with a fresh profile (puppeteer's temporary one, removed
 * on close). playwright-core cannot drive a stock Firefox (it needs its own patched build), and no
 * browser is ever downloaded. Console errors and warnings and page errors are collected for the
 * tests to check; CSP violations are recorded in the page (see page-probes.ts).
 */
import fs from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { CSP_RECORDER } from './page-probes.js';

/** Where to look: FIREFOX_PATH alone when set, else Debian's firefox-esr, then firefox. */
const CANDIDATES = process.env.FIREFOX_PATH ? [process.env.FIREFOX_PATH] : ['/usr/bin/firefox-esr', '/usr/bin/firefox'];

/** The Firefox binary, or undefined when there is none. */
export function findFirefox(): string | undefined {
  return CANDIDATES.find((file) => fs.existsSync(file));
}

export const FIREFOX_MISSING = `no Firefox at ${CANDIDATES.join(' or ')}: install Debian's (apt-get install -y --no-install-recommends firefox-esr; .ci/run does), or point FIREFOX_PATH at one`;

/**
 * Where Firefox's own services would go: a closed loopback port, refused at once, so nothing
 * waits on DNS or a network that drops packets (puppeteer's defaults name dummy.test hosts).
 */
const NOWHERE = 'http://127.0.0.1:9/';

/**
 * Profile prefs for no background connection at all (checked with strace: no DNS lookup and no
 * connection but to the test server). Puppeteer's defaults cover some of them; they are listed
 * here anyway so the guarantee does not rest on those defaults.
 */
const QUIET_PREFS: Record<string, string | number | boolean> = {
  // Remote settings (blocklists, search config, security state) pull at start-up; the server
  // pref is only honoured with MOZ_REMOTE_SETTINGS_DEVTOOLS=1 (see launchFirefox).
  'services.settings.server': `${NOWHERE}v1`,
  'security.remote_settings.crlite_filters.enabled': false,
  'security.remote_settings.intermediates.enabled': false,
  'extensions.blocklist.enabled': false,
  // Updates.
  'app.update.auto': false,
  'app.update.checkInstallTime': false,
  'extensions.systemAddon.update.enabled': false,
  'media.gmp-manager.updateEnabled': false,
  'media.gmp-gmpopenh264.enabled': false,
  // Telemetry, studies and experiments.
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.telemetry.server': NOWHERE,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'app.shield.optoutstudies.enabled': false,
  'app.normandy.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'browser.ping-centre.telemetry': false,
  // Captive portal and connectivity checks.
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  // Safe browsing list downloads.
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.blockedURIs.enabled': false,
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.safebrowsing.provider.google4.updateURL': '',
  // Region and geolocation lookups, DNS over HTTPS, prefetching and speculative connections.
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'geo.provider.network.url': '',
  'network.trr.mode': 5,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.predictor.enabled': false,
  'network.http.speculative-parallel-limit': 0,
  // Push, accounts, new tab feeds, translations.
  'dom.push.connection.enabled': false,
  'identity.fxaccounts.enabled': false,
  'browser.newtabpage.enabled': false,
  'browser.topsites.contile.enabled': false,
  'browser.newtabpage.activity-stream.feeds.topsites': false,
  'browser.newtabpage.activity-stream.feeds.section.topstories': false,
  'browser.translations.enable': false,
  'network.sntp.pools': '127.0.0.1',
};

export interface Firefox {
  browser: Browser;
  page: Page;
  /** Console errors and warnings and uncaught exceptions seen so far. */
  problems: string[];
  close(): Promise<void>;
}

export async function launchFirefox(executablePath: string): Promise<Firefox> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath,
    headless: true,
    extraPrefsFirefox: QUIET_PREFS,
    env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1', MOZ_CRASHREPORTER_DISABLE: '1' },
    defaultViewport: { width: 1280, height: 900 },
  });
  // A tab of our own: the start-up tab's document never has focus in headless Firefox, and
  // there Enter and Space on a focused button do not activate it (a real window has focus).
  const page = await browser.newPage();
  const problems: string[] = [];
  await page.evaluateOnNewDocument(CSP_RECORDER);
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warn') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error instanceof Error ? error.message : String(error)}`));
  return { browser, page, problems, close: () => browser.close() };
}
