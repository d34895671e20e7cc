/**
 * What every serving benchmark shares: the machine it ran on, latency summaries, an aligned
 * table on stdout and the JSON written to bench-results/<name>.json (git-ignored).
 */
import os from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface MachineInfo {
  cpus: number;
  cpu_model: string;
  total_memory_mb: number;
  node: string;
  platform: string;
  arch: string;
  date: string;
  /** 1, 5 and 15 min load averages at the start: other work on the machine skews every figure. */
  load_average: number[];
}

export const loadAverage = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    total_memory_mb: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    date: new Date().toISOString(),
    load_average: loadAverage(),
  };
}

/** Prints the machine line, with a warning when other processes already load the CPUs. */
export function announce(name: string, machine: MachineInfo): void {
  console.log(`${name}: ${machine.cpus} × ${machine.cpu_model}, Node ${machine.node}, ${machine.date}, load average ${machine.load_average.join(' / ')}`);
  if ((machine.load_average[0] ?? 0) > machine.cpus * 0.5) {
    console.log(`warning: the machine is busy (1-min load ${machine.load_average[0]} on ${machine.cpus} cores): figures will be lower and noisier than on an idle machine`);
  }
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (0 when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    mean: sorted.length ? sum / sorted.length : 0,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
  };
}

/** Milliseconds with a precision that suits the size. */
export function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

/** Integer with thousands separators. */
export function int(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return Math.round(value).toLocaleString('en-US');
}

/** Bytes in MB (KB below 1 MB). */
export function mb(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '—';
  if (bytes > 0 && bytes < 2 ** 20) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 2 ** 20).toFixed(0)} MB`;
}

export type Cell = string | number;

/** A Markdown table with padded columns (numbers right-aligned). */
export function printTable(title: string, headers: readonly string[], rows: ReadonlyArray<readonly Cell[]>): void {
  const text = rows.map((row) => headers.map((_, i) => String(row[i] ?? '')));
  const widths = headers.map((header, i) => Math.max(header.length, ...text.map((row) => row[i]!.length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number' || /^[\d.,]+( ?[a-zA-Z/%×]+)?$|^—$/.test(String(row[i] ?? ''))));
  const pad = (cell: string, i: number) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!));
  const line = (cells: readonly string[]) => `| ${cells.map(pad).join(' | ')} |`;
  console.log(`\n${title}\n`);
  console.log(line(headers));
  console.log(`|${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const row of text) console.log(line(row));
}

/** Writes bench-results/<name>.json (under the current directory, or BENCH_RESULTS_DIR). */
export function writeResults(name: string, data: object): string {
  const dir = path.resolve(process.env.BENCH_RESULTS_DIR ?? 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), file) || file}`);
  return file;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A pass/miss mark for a target check. */
export const mark = (ok: boolean) => (ok ? 'meets' : 'MISSES');
