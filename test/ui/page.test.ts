/**
 * Issue 15 in a real browser: headless Chromium drives the /ui page of the real server (toy
 * model, real training in the worker). One browser and one page for the whole file.
 * Screenshots are taken as the tests pass: into docs/ for the README with UPDATE_SCREENSHOTS=1
 * (`npm run screenshots`), else into a temporary directory, so a test run leaves the tree clean.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Locator, Page } from 'playwright-core';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { launchChromium, type Chromium } from './chromium.js';
import { cspViolations, focusKey, focusedHas, servingOnPage, tabTo, versionRows } from './page-probes.js';
import { HOSTILE_CONFIG, HOSTILE_LABEL, servedVersion, trainUiProjects } from './projects.js';
import { annotateFirst, startLoop, type Loop } from '../refresh/helpers.js';

const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS ? fileURLToPath(new URL('../../docs/', import.meta.url)) : fs.mkdtempSync(path.join(os.tmpdir(), 'ui-shots-'));
const screenshot = (name: string) => path.join(SCREENSHOTS, name);

describe('/ui page in headless Chromium', function () {
  this.timeout(90_000);
  let server: TestServer;
  let browser: Chromium;
  let page: Page;
  let project: Locator;
  let versions: string[];
  let loop: Loop | undefined;

  before(async () => {
    server = await startTestServer({ env: { TRAIN_EVERY_N_ANNOTATIONS: '0' } });
    versions = await trainUiProjects(server, { plain: 41, hostile: 42 });
    expect(versions).to.have.length(2);
    browser = await launchChromium();
    page = browser.page;
    await page.goto(`${server.url}/ui`);
    project = page.locator('section[data-project="41"]');
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await loop?.stop();
  });

  it('lists a trained project with its versions, their metrics and its learning curve', async () => {
    await project.getByRole('heading', { name: 'Project 41', exact: true }).waitFor();
    await waitFor(async () => (await versionRows(page, 41)).length === 2, 10_000, 'two versions');
    expect(await versionRows(page, 41)).to.deep.equal([[versions[1], 'Serving'], [versions[0], 'Serve']]);
    expect(await servingOnPage(page, 41)).to.equal(await servedVersion(server, 41));
    const headers = await project.locator('table.versions thead th').allInnerTexts();
    expect(headers).to.include.members(['Version', 'Annotations', 'Accuracy', 'Rows', 'Duration']);
    const accuracy = await project.locator('table.versions tbody tr').first().locator('td').nth(headers.indexOf('Accuracy')).innerText();
    expect(Number(accuracy)).to.be.within(0, 1);
    expect(await project.locator('table.versions tbody tr').first().locator('td').nth(headers.indexOf('Annotations')).innerText()).to.equal('8');
    // The learning curve: a drawn chart, and the same points in its table.
    const curve = project.locator('section', { has: page.getByRole('heading', { name: 'Learning curve' }) });
    await curve.locator('.uplot canvas').first().waitFor();
    const points = await curve.locator('details.data-table tbody tr').allTextContents();
    expect(points.map((row) => row.replace(/\s+/g, ' '))).to.have.length(2);
    expect(await curve.getByRole('combobox', { name: 'Metric' }).inputValue()).to.equal('accuracy');
    expect(await page.locator('#backend-info').innerText()).to.match(/ToyClassifier · TF\.js \w+/);
    await page.screenshot({ path: screenshot('ui-overview.png'), fullPage: true });
  });

  it('shows a label config holding <script> and other markup as text, and runs none of it', async () => {
    const hostile = page.locator('section[data-project="42"]');
    await hostile.getByText('Label config XML').click();
    expect(await hostile.locator('pre.xml').textContent()).to.equal(HOSTILE_CONFIG);
    const labels = await hostile.locator('section', { has: page.getByRole('heading', { name: 'Label config' }) }).locator('tbody td').allTextContents();
    expect(labels.join(' | ')).to.include(`Positive, ${HOSTILE_LABEL}, Negative`);
    expect(await hostile.locator('script, img, b').count()).to.equal(0);
    expect(await page.evaluate('window.__pwned')).to.equal(undefined);
  });

  it('rolls back from the page after a confirmation, and /setup then returns that version', async () => {
    await project.getByRole('button', { name: `Serve version ${versions[0]} of project 41` }).click();
    const dialog = page.getByRole('dialog', { name: `Serve ${versions[0]}?` });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: `Serve ${versions[0]}` }).click();
    await waitFor(async () => (await servingOnPage(page, 41)) === versions[0], 10_000, 'the page to show the rollback');
    expect(await servedVersion(server, 41)).to.equal(versions[0]);
  });

  it('rolls back with the keyboard alone: Tab to the button, Enter, Escape cancels, Tab + Enter confirms', async () => {
    await page.evaluate('document.activeElement?.blur()');
    const key = `serve:${versions[1]}`;
    await tabTo(page, key);
    await page.keyboard.press('Enter');
    const dialog = page.locator('#confirm-dialog');
    await dialog.waitFor();
    expect(await focusKey(page)).to.equal('BUTTON');
    expect(await focusedHas(page, 'data-cancel')).to.equal(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focusKey(page)).to.equal(key);
    expect(await servedVersion(server, 41)).to.equal(versions[0]);

    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.press('Tab');
    expect(await focusedHas(page, 'data-confirm')).to.equal(true);
    await page.screenshot({ path: screenshot('ui-rollback-dialog.png') });
    await page.keyboard.press('Enter');
    await waitFor(async () => (await servingOnPage(page, 41)) === versions[1], 10_000, 'the page to show the keyboard rollback');
    expect(await servedVersion(server, 41)).to.equal(versions[1]);
    // The button became the "Serving" badge: keyboard focus stays on that row.
    expect(await focusKey(page)).to.equal(key);
  });

  it('starts a training from the page, shows its progress live, and lists the new version when it ends', async () => {
    await server.http.post('/setup').send({ project: '41', extra_params: { epochs: 40, epochDelayMs: 150 } }).expect(200);
    await project.getByRole('button', { name: 'Start training of project 41' }).click();
    const running = project.locator('.job.running');
    await running.waitFor({ timeout: 15_000 });
    const jobId = await running.getAttribute('data-job');
    await waitFor(async () => Number(await running.locator('progress').getAttribute('value')) >= 3 || undefined, 20_000, 'epochs to show');
    expect(await running.locator('progress').getAttribute('max')).to.equal('40');
    expect(await running.locator('.figures').innerText()).to.match(/^epoch \d+ of 40 · loss \d\.\d{4}/);
    await running.locator('.uplot canvas').first().waitFor();
    expect(await running.locator('.u-legend').innerText()).to.match(/Loss \(dashed line, hollow squares\)/);
    await project.scrollIntoViewIfNeeded();
    await project.screenshot({ path: screenshot('ui-training.png') });

    await running.waitFor({ state: 'detached', timeout: 30_000 });
    await waitFor(async () => (await versionRows(page, 41)).length === 3, 10_000, 'the new version');
    const [newest] = await versionRows(page, 41);
    expect(newest?.[1]).to.equal('Serving');
    expect(newest?.[0]).to.equal(await servedVersion(server, 41));
    const recent = project.locator('section', { has: page.getByRole('heading', { name: 'Recent training jobs' }) });
    const firstJob = await recent.locator('tbody tr').first().locator('td').allInnerTexts();
    expect(firstJob.slice(0, 2)).to.deep.equal([jobId, 'succeeded']);
    expect(firstJob).to.include(newest?.[0]);
    // The finished job's loss curve, from its history (/job_status), on request.
    await recent.getByRole('button', { name: `Loss curve of job ${jobId}` }).click();
    const past = page.locator('#project-41-past-curve');
    await past.locator('.uplot canvas').first().waitFor();
    expect(await past.locator('details.data-table tbody tr').count()).to.equal(40);
  });

  it('shows the prediction refresh into Label Studio live: version, tasks done of total, errors, then how and when it ended', async () => {
    // A second backend, connected to a Label Studio stand-in that answers slowly enough to watch.
    loop = await startLoop({ taskCount: 120, env: { PREDICTION_REFRESH_BATCH: '10' } });
    await annotateFirst(loop, 8);
    loop.ls.latencyMs = 100;
    await loop.ls.startTraining(loop.project); // Label Studio's button
    await waitFor(async () => (await servedVersion(loop!.server, loop!.project)) !== 'v0000-initial' || undefined, 20_000, 'the new version');
    await page.goto(`${loop.server.url}/ui`);
    const section = page.locator(`section[data-project="${loop.project}"]`);
    const card = section.locator(`[data-refresh="${loop.project}"]`);
    const running = card.locator('[data-refresh-status="running"]');
    await running.waitFor({ timeout: 30_000 });
    const bar = running.locator('progress');
    await waitFor(async () => Number(await bar.getAttribute('value')) > 0 || undefined, 20_000, 'tasks done');
    expect(await bar.getAttribute('max')).to.equal('112');
    expect(await running.locator('.figures').innerText()).to.match(/^\d+ of 112 tasks \(\d+%\) · 0 errors/);
    expect(await running.innerText()).to.match(/^Running · version v0001-/).and.match(/started .* · phase: writing predictions/);
    const version = await servedVersion(loop.server, loop.project);
    expect(await card.getByRole('status').textContent()).to.equal(`Prediction refresh of ${version} started for project ${loop.project}.`);
    await section.scrollIntoViewIfNeeded();
    await section.locator('.stack').screenshot({ path: screenshot('ui-refresh.png') });

    const done = card.locator('[data-refresh-status="done"]');
    await done.waitFor({ timeout: 30_000 });
    const ledger = (await loop.server.http.get(`/versions?project=${loop.project}`).expect(200)).body.projects[String(loop.project)].prediction_refresh;
    expect(ledger).to.include({ version, status: 'done', done: 112, errors: 0 });
    expect(await done.locator('p').first().innerText()).to.equal(`Done · version ${version}`);
    expect(await done.locator('.figures').innerText()).to.equal('112 of 112 tasks (100%) · 0 errors · 112 written, 0 already there');
    expect([await done.locator('progress').getAttribute('value'), await done.locator('progress').getAttribute('max')]).to.deep.equal(['112', '112']);
    expect(await done.locator('time').last().getAttribute('datetime')).to.equal(ledger.finished_at);
    expect(await card.getByRole('status').textContent()).to.equal(`Prediction refresh of ${version} for project ${loop.project} ended: Done, 112 of 112 tasks, 0 errors.`);
    // Every unlabelled task in Label Studio got its prediction; the training jobs table lists the training alone.
    expect(loop.ls.unlabelledTasks(loop.project).every((task) => loop!.ls.predictionsOf(task.id, version).length === 1)).to.equal(true);
    const recent = section.locator('section', { has: page.getByRole('heading', { name: 'Recent training jobs' }) });
    expect(await recent.locator('tbody tr').count()).to.equal(1);

    // A refresh that fails says so in words, with Label Studio's reason (and is announced).
    loop.ls.latencyMs = 0;
    loop.ls.fault({ path: `/api/projects/${loop.project}/import/predictions`, status: 403 });
    await loop.server.http.post('/refresh_predictions').send({ project: loop.project }).expect(201);
    const failed = card.locator('[data-refresh-status="failed"]');
    await failed.waitFor({ timeout: 15_000 });
    expect(await failed.locator('p').first().innerText()).to.equal(`Failed · version ${version}`);
    expect(await failed.locator('.error-text').innerText()).to.match(/^Error: .*HTTP 403/);
    expect(await card.getByRole('status').textContent()).to.match(new RegExp(`^Prediction refresh of ${version} for project ${loop.project} ended: Failed, `));
  });

  it('ran with no console error and no CSP violation, and the CSP really blocks inline script', async () => {
    expect(browser.problems).to.deep.equal([]);
    expect(await cspViolations(page)).to.deep.equal([]);
    await page.evaluate('{ const s = document.createElement("script"); s.textContent = "window.__inline = 1"; document.body.append(s); }');
    expect(await page.evaluate('window.__inline')).to.equal(undefined);
    await waitFor(async () => (await cspViolations(page)).length > 0 || undefined, 5_000, 'the violation report');
  });
});
