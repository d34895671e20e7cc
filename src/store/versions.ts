/**
 * Version names: `v<seq>-<UTC stamp>`, e.g. `v0003-20261122T160512Z`. The sequence makes them
 * unique and sortable, the stamp makes them readable.
 */
const GENERATED = /^v(\d{4,})-\d{8}T\d{6}Z(?:\.tmp)?$/;

/** The sequence number of a generated name (or of its `.tmp` workdir), else undefined. */
export function versionSeq(name: string): number | undefined {
  const match = GENERATED.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** `2026-11-22T16:05:12.345Z` -> `20261122T160512Z`. */
function utcStamp(now: Date): string {
  return `${now.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/**
 * The next name after everything in `existing` (version dirs and `.tmp` workdirs alike, so a
 * crashed workdir's number is not reused before it is cleaned up).
 */
export function nextVersionName(existing: readonly string[], now: Date): string {
  const max = existing.reduce((top, name) => Math.max(top, versionSeq(name) ?? 0), 0);
  return `v${String(max + 1).padStart(4, '0')}-${utcStamp(now)}`;
}

/** Oldest first: generated names by sequence (past v9999 too), others before them by name. */
export function compareVersions(a: string, b: string): number {
  const sa = versionSeq(a);
  const sb = versionSeq(b);
  if (sa !== undefined && sb !== undefined && sa !== sb) return sa - sb;
  if (sa === undefined && sb !== undefined) return -1;
  if (sa !== undefined && sb === undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
