/** Active-learning query strategies: which unlabelled items to annotate next. */
import { shuffled } from './datasets.js';

export type ScoreMethod = 'least_confidence' | 'margin' | 'entropy';
export const SCORE_METHODS: readonly ScoreMethod[] = ['least_confidence', 'margin', 'entropy'];

export interface Strategy {
  /** Name in the outputs, e.g. "random", "uncertainty (margin)". */
  name: string;
  /** label-studio: uncertainty sampling the way a Label Studio user does it (scripts/lib/al-label-studio-loop.ts). */
  kind: 'random' | 'uncertainty' | 'label-studio';
  /** The backend's score_method (extra_params) for uncertainty sampling. */
  scoreMethod: ScoreMethod;
}

/** "random", "uncertainty" (uses `defaultMethod`), "uncertainty:margin", a bare score method name, "label-studio" or "label-studio:margin". */
export function parseStrategy(spec: string, defaultMethod: ScoreMethod): Strategy {
  const [kind, method] = spec.trim().toLowerCase().split(':') as [string, string | undefined];
  if (kind === 'random') return { name: 'random', kind: 'random', scoreMethod: defaultMethod };
  if (kind === 'label-studio') {
    const scoreMethod = (method ?? defaultMethod) as ScoreMethod;
    if (!SCORE_METHODS.includes(scoreMethod)) throw new Error(`unknown score method in ${JSON.stringify(spec)}: use one of ${SCORE_METHODS.join(', ')}`);
    return { name: `Label Studio loop (${scoreMethod}, refresh scores)`, kind: 'label-studio', scoreMethod };
  }
  const scoreMethod = (kind === 'uncertainty' ? (method ?? defaultMethod) : kind) as ScoreMethod;
  if ((kind !== 'uncertainty' && method !== undefined) || !SCORE_METHODS.includes(scoreMethod)) {
    throw new Error(`unknown strategy ${JSON.stringify(spec)}: use random, uncertainty, uncertainty:<${SCORE_METHODS.join('|')}>, a score method, label-studio or label-studio:<method>`);
  }
  return { name: `uncertainty (${scoreMethod})`, kind: 'uncertainty', scoreMethod };
}

/** `n` items of `pool` at random. */
export function pickRandom(pool: readonly number[], n: number, random: () => number): number[] {
  return shuffled(pool, random).slice(0, n);
}

/** The `n` candidates with the LOWEST score (the score is a confidence: low = uncertain); ties by index. */
export function pickLeastConfident(candidates: readonly number[], scores: readonly number[], n: number): number[] {
  return candidates
    .map((item, i) => ({ item, score: Number.isFinite(scores[i]) ? scores[i]! : Infinity }))
    .sort((a, b) => a.score - b.score || a.item - b.item)
    .slice(0, n)
    .map((entry) => entry.item);
}
