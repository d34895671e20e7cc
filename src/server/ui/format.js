/** How figures, times and metric names read on the page. */

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

export function formatDate(iso) {
  const date = iso ? new Date(iso) : null;
  return date && !Number.isNaN(date.getTime()) ? dateTime.format(date) : '—';
}

export function formatClock(date) {
  return clock.format(date);
}

/** Integers as they are; other figures with four decimals (0.9016), tiny or huge ones in exponent form. */
export function formatNumber(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
  if (Number.isInteger(value)) return value.toLocaleString();
  const size = Math.abs(value);
  return size !== 0 && (size < 1e-3 || size >= 1e6) ? value.toExponential(3) : value.toFixed(4);
}

export function formatDuration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Metric keys the recipes write, in the order the versions table shows them. */
const METRIC_LABELS = {
  val_accuracy: 'Accuracy (val)',
  val_macro_f1: 'Macro-F1 (val)',
  train_accuracy: 'Accuracy (train)',
  train_macro_f1: 'Macro-F1 (train)',
  accuracy: 'Accuracy',
  macro_f1: 'Macro-F1',
  loss: 'Loss',
  val_loss: 'Loss (val)',
  train_size: 'Training rows',
  val_size: 'Validation rows',
};

export function metricLabel(key) {
  return METRIC_LABELS[key] ?? key.replace(/_/g, ' ');
}

/** Known metrics first (in the order above), then the rest alphabetically. */
export function compareMetrics(a, b) {
  const known = Object.keys(METRIC_LABELS);
  const ia = known.indexOf(a);
  const ib = known.indexOf(b);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Counts, not qualities: never offered as a learning-curve metric. */
export function isCountMetric(key) {
  return key.endsWith('_size') || key === 'samples';
}

/** Losses go on their own axis; everything else is a score. */
export function isLossMetric(key) {
  return key.includes('loss');
}

export function plural(count, one, many = `${one}s`) {
  return `${count.toLocaleString()} ${count === 1 ? one : many}`;
}
