/**
 * Issue 15's "no JavaScript errors in current Firefox", in a real Firefox: Debian's firefox-esr,
 * headless, driven by puppeteer-core over WebDriver BiDi against the real server (toy model).
 * One browser and one page for the file; the Chromium file (page.test.ts) covers the rest of the
 * page. Skipped with a message when no Firefox is installed, except in CI, where it fails.
 */
import { expect } from 'chai';
import type { Page } from 'puppeteer-core';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { FIREFOX_MISSING, findFirefox, launchFirefox, type Firefox } from './firefox.js';
import { cspViolations, focusKey, focusedHas, servingOnPage, tabTo, versionRows } from './page-probes.js';
import { HOSTILE_CONFIG, HOSTILE_LABEL, servedVersion, trainUiProjects } from './projects.js';

const PLAIN = 51;
const HOSTILE = 52;
/** CI=true (any value but empty, "false" or "0"): a missing Firefox is a broken install, so the tests fail. */
const inCi = !['', 'false', '0'].includes(process.env.CI ?? '');
const section = (project: number) => `section[data-project="${project}"]`;

/** Text of every element matching `selector`, in document order. */
const texts = (page: Page, selector: string) => page.$$eval(selector, (elements) => elements.map((element) => element.textContent ?? ''));

describe('/ui page in headless Firefox', function () {
  this.timeout(90_000);
  let server: TestServer | undefined;
  let firefox: Firefox | undefined;
  let page: Page;
  let versions: string[];

  before(async function () {
    const executable = findFirefox();
    if (!executable) {
      if (inCi) throw new Error(`${FIREFOX_MISSING} (CI is set, so this fails rather than skips)`);
      console.log(`      skipped: ${FIREFOX_MISSING}`);
      this.skip();
    }
    server = await startTestServer({ env: { TRAIN_EVERY_N_ANNOTATIONS: '0' } });
    versions = await trainUiProjects(server, { plain: PLAIN, hostile: HOSTILE });
    expect(versions).to.have.length(2);
    firefox = await launchFirefox(executable);
    page = firefox.page;
    await page.goto(`${server.url}/ui`);
    expect(await page.evaluate('navigator.userAgent')).to.match(/Firefox\//);
  });
  after(async () => {
    await firefox?.close();
    await server?.stop();
  });

  it('lists a trained project with its versions and its learning curve', async () => {
    await waitFor(async () => (await versionRows(page, PLAIN)).length === 2 || undefined, 10_000, 'two versions');
    expect(await texts(page, `${section(PLAIN)} h2`)).to.include(`Project ${PLAIN}`);
    expect(await versionRows(page, PLAIN)).to.deep.equal([[versions[1], 'Serving'], [versions[0], 'Serve']]);
    expect(await servingOnPage(page, PLAIN)).to.equal(await servedVersion(server!, PLAIN));
    // The learning curve: drawn by uPlot on a canvas that has a size, and the same two points in its table.
    const curve = `${section(PLAIN)} section[aria-labelledby="project-${PLAIN}-curve-title"]`;
    await page.waitForSelector(`${curve} .uplot canvas`);
    const canvas = await page.evaluate(`(({ width, height }) => [width, height])(document.querySelector('${curve} .uplot canvas'))`);
    expect(canvas).to.satisfy((sides: number[]) => sides.every((side) => side > 0));
    expect(await texts(page, `${curve} details.data-table tbody tr`)).to.have.length(2);
  });

  it('shows a label config holding <script> and other markup as text, and runs none of it', async () => {
    await page.waitForSelector(`${section(HOSTILE)} pre.xml`);
    expect(await texts(page, `${section(HOSTILE)} pre.xml`)).to.deep.equal([HOSTILE_CONFIG]);
    const controls = await texts(page, `${section(HOSTILE)} section[aria-labelledby="project-${HOSTILE}-config"] tbody td`);
    expect(controls.join(' | ')).to.include(`Positive, ${HOSTILE_LABEL}, Negative`);
    expect(await page.$$eval(`${section(HOSTILE)} script, ${section(HOSTILE)} img, ${section(HOSTILE)} b`, (found) => found.length)).to.equal(0);
    expect(await page.evaluate('window.__pwned')).to.equal(undefined);
  });

  it('rolls back with the keyboard alone: Tab to Serve, Enter, confirm in the dialog; /setup then returns that version', async () => {
    const key = `serve:${versions[0]}`;
    await page.evaluate('document.activeElement?.blur()');
    await tabTo(page, key);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#confirm-dialog[open]');
    expect(await focusedHas(page, 'data-cancel')).to.equal(true);
    await page.keyboard.press('Tab');
    expect(await focusedHas(page, 'data-confirm')).to.equal(true);
    await page.keyboard.press('Enter');
    await waitFor(async () => (await servingOnPage(page, PLAIN)) === versions[0] || undefined, 10_000, 'the page to show the rollback');
    expect(await servedVersion(server!, PLAIN)).to.equal(versions[0]);
    expect(await focusKey(page)).to.equal(key);
    expect(await page.$('#confirm-dialog[open]')).to.equal(null);
  });

  it('shows a training started from the page live (progress, loss curve), then its new version as serving', async () => {
    // 20 epochs of 100 ms: the page polls every second while a job runs, so it sees this one mid-run.
    await server!.http.post('/setup').send({ project: String(PLAIN), extra_params: { epochs: 20, epochDelayMs: 100 } }).expect(200);
    await page.click(`${section(PLAIN)} button[data-focus-key="train"]`);
    const running = `${section(PLAIN)} .job.running`;
    // One evaluation, so the chart, the bar and the figures come from the same poll.
    const live = (await waitFor(
      async () => page.evaluate(`(() => {
        const job = document.querySelector('${running}');
        if (!job?.querySelector('.uplot canvas')) return undefined;
        return [job.querySelector('progress').getAttribute('max'), job.querySelector('.figures').textContent];
      })()`),
      15_000,
      'the running job with its loss curve',
    )) as [string, string];
    expect(live[0]).to.equal('20');
    expect(live[1]).to.match(/^epoch \d+ of 20 · loss \d\.\d{4}/);
    await page.waitForSelector(running, { hidden: true, timeout: 30_000 });
    await waitFor(async () => (await versionRows(page, PLAIN)).length === 3 || undefined, 10_000, 'the new version');
    const [newest] = await versionRows(page, PLAIN);
    expect(newest).to.deep.equal([await servedVersion(server!, PLAIN), 'Serving']);
  });

  it('ran with no console error, no page error and no CSP violation (and would have seen them)', async () => {
    expect(firefox!.problems).to.deep.equal([]);
    expect(await cspViolations(page)).to.deep.equal([]);
    // The collectors work in this browser: an inline script is blocked and recorded in the page
    // (Firefox also reports it as a page error), and a console error and an uncaught exception
    // reach the problems list.
    await page.evaluate('{ const s = document.createElement("script"); s.textContent = "window.__inline = 1"; document.body.append(s); }');
    expect(await page.evaluate('window.__inline')).to.equal(undefined);
    await waitFor(async () => (await cspViolations(page)).length > 0 || undefined, 5_000, 'the violation report');
    await waitFor(async () => firefox!.problems.length > 0 || undefined, 5_000, 'the violation as a page error');
    await page.evaluate('console.error("probe"); setTimeout(() => { throw new Error("probe thrown") })');
    await waitFor(async () => firefox!.problems.length >= 3 || undefined, 5_000, 'the probes');
    expect(firefox!.problems[0]).to.match(/^page error: Content-Security-Policy: .*script-src/);
    expect(firefox!.problems[1]).to.equal('console error: probe');
    expect(firefox!.problems[2]).to.match(/^page error: (Error: )?probe thrown$/);
  });
});
