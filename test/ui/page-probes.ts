/**
 * What the /ui browser tests read from and do to the page, whichever browser and driver runs it:
 * playwright-core's Page (Chromium) and puppeteer-core's Page (Firefox) both fit `PageDriver`.
 * Reads are plain expressions evaluated in the page, so both engines answer the same question.
 */

/** The part of a driver's page the probes need. */
export interface PageDriver {
  evaluate(expression: string): Promise<unknown>;
  keyboard: { press(key: string): Promise<void> };
}

/**
 * Run before the page's own scripts (an init or preload script): records CSP violations in the
 * page itself, so violations that never reach the console (or the driver) count too.
 */
export const CSP_RECORDER =
  "document.addEventListener('securitypolicyviolation', (e) => (window.__csp ??= []).push(e.violatedDirective + ' ' + e.blockedURI));";

/** CSP violations the page recorded (see CSP_RECORDER). */
export async function cspViolations(page: PageDriver): Promise<string[]> {
  return (await page.evaluate('window.__csp ?? []')) as string[];
}

/** The focused element's `data-focus-key`, else its tag name. */
export async function focusKey(page: PageDriver): Promise<string | undefined> {
  return (await page.evaluate('document.activeElement?.getAttribute("data-focus-key") ?? document.activeElement?.tagName')) as string | undefined;
}

/** Presses Tab until the focused element has `key` (at most `limit` presses): proves it is reachable by keyboard. */
export async function tabTo(page: PageDriver, key: string, limit = 120): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    if ((await focusKey(page)) === key) return;
  }
  throw new Error(`${key} not reached with ${limit} Tab presses`);
}

/** Whether the focused element carries the attribute (the dialog's `data-cancel`, `data-confirm`). */
export async function focusedHas(page: PageDriver, attribute: string): Promise<boolean> {
  return (await page.evaluate(`document.activeElement?.hasAttribute(${JSON.stringify(attribute)}) ?? false`)) as boolean;
}

/**
 * A project's versions table, newest first, as [version, serving cell's visible label]. The
 * serving cell's button also holds text for screen readers ("version … of project …"): only its
 * first line is the visible label.
 */
export async function versionRows(page: PageDriver, project: number): Promise<Array<[string, string]>> {
  const rows = `document.querySelectorAll('section[data-project="${project}"] table.versions tbody tr')`;
  return (await page.evaluate(
    `[...${rows}].map((row) => [row.cells[0].innerText.trim(), row.cells[1].innerText.trim().split('\\n')[0]])`,
  )) as Array<[string, string]>;
}

/** The version the page marks as serving. */
export async function servingOnPage(page: PageDriver, project: number): Promise<string | undefined> {
  return (await versionRows(page, project)).find(([, serving]) => serving === 'Serving')?.[0];
}
