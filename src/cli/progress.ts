/**
 * Job progress for the terminal (training: epochs and loss; a prediction refresh: tasks): a
 * cli-progress bar for a person, plain lines when stderr is not a terminal or CI=true (logs stay
 * readable, no control characters).
 */
import cliProgress from 'cli-progress';
import type { TrainProgress } from '../types.js';
import { formatMetrics, isInteractive } from './support.js';

export interface ProgressView {
  update(progress: TrainProgress): void;
  stop(): void;
}

/** Plain mode prints at most this many epoch lines per job (plus the last one). */
const MAX_PLAIN_LINES = 20;

export function createProgressView(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  return isInteractive(stream) ? barView(stream) : lineView((line) => stream.write(`${line}\n`));
}

function barView(stream: NodeJS.WriteStream): ProgressView {
  const bar = new cliProgress.SingleBar(
    { stream, format: 'training |{bar}| epoch {value}/{total}  loss {loss}  {extra}', hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const payload = { loss: p.loss !== undefined ? p.loss.toFixed(4) : '-', extra: [p.phase ?? '', formatMetrics(p.metrics)].join(' ').trim() };
      if (p.epoch === undefined || p.epochs === undefined) {
        if (!started) stream.write(`${p.phase ?? 'training'}\n`);
        else bar.update(payload);
        return;
      }
      if (!started) {
        bar.start(p.epochs, 0, payload);
        started = true;
      }
      bar.setTotal(p.epochs);
      bar.update(p.epoch, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export function lineView(write: (line: string) => void): ProgressView {
  let lastPhase: string | undefined;
  return {
    update(p) {
      if (p.phase !== undefined && p.phase !== lastPhase) {
        lastPhase = p.phase;
        write(`phase: ${p.phase}`);
      }
      if (p.epoch === undefined) return;
      const every = Math.max(1, Math.ceil((p.epochs ?? 1) / MAX_PLAIN_LINES));
      if (p.epoch % every !== 0 && p.epoch !== 1 && p.epoch !== p.epochs) return;
      const loss = p.loss !== undefined ? ` loss ${p.loss.toFixed(4)}` : '';
      const metrics = formatMetrics(p.metrics);
      write(`epoch ${p.epoch}${p.epochs !== undefined ? `/${p.epochs}` : ''}${loss}${metrics ? ` ${metrics}` : ''}`);
    },
    stop() {},
  };
}

/** Task progress (a prediction refresh): a bar of tasks done for a person, a line per ~10% in CI. */
export function createTaskProgressView(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  if (!isInteractive(stream)) return taskLineView((line) => stream.write(`${line}\n`));
  const bar = new cliProgress.SingleBar(
    { stream, format: 'predicting |{bar}| {value}/{total} tasks  errors {errors}  {phase}', hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      if (p.done === undefined || p.total === undefined) return;
      const payload = { errors: p.errors ?? 0, phase: p.phase ?? '' };
      if (!started) bar.start(p.total, p.done, payload);
      started = true;
      bar.setTotal(p.total);
      bar.update(p.done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export function taskLineView(write: (line: string) => void): ProgressView {
  let lastTenth = -1;
  let lastPhase: string | undefined;
  return {
    update(p) {
      if (p.phase !== undefined && p.phase !== lastPhase) {
        lastPhase = p.phase;
        write(`phase: ${p.phase}`);
      }
      if (p.done === undefined || p.total === undefined) return;
      const tenth = p.total === 0 ? 10 : Math.floor((10 * p.done) / p.total);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      write(`${p.done}/${p.total} tasks${p.errors ? `, ${p.errors} failed` : ''}`);
    },
    stop() {},
  };
}
