/**
 * One embedding pool per process, reachable from every thread: the thread that owns the pool
 * (the server) hosts it on a named BroadcastChannel, and other threads (the training worker)
 * embed through it instead of loading a second copy of the encoder. A client that finds no
 * host (a CLI training, a trainer process of its own) gets `null` and starts its own pool.
 */
import { randomUUID } from 'node:crypto';
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { MlBackendError } from '../errors.js';
import type { DenseFeatures, EmbedOptions, EmbedPriority, Embedder } from './embedder.js';

type Request =
  | { kind: 'ping'; from: string; id: number }
  | { kind: 'embed'; from: string; id: number; texts: string[]; priority: EmbedPriority };
type Reply =
  | { kind: 'pong'; to: string; id: number; encoderId: string; dim: number }
  | { kind: 'rows'; to: string; id: number; values: Float32Array }
  | { kind: 'error'; to: string; id: number; message: string };

const hosts = new Map<string, BroadcastChannel>();

/** Serves `embedder` to the other threads of this process under `name` (once per name). */
export function hostEmbedder(name: string, embedder: Embedder): void {
  if (hosts.has(name)) return;
  const channel = new BroadcastChannel(name);
  channel.unref();
  hosts.set(name, channel);
  channel.onmessage = (event: unknown) => {
    const message = (event as { data: Request | Reply }).data;
    if (message.kind === 'ping') {
      channel.postMessage({ kind: 'pong', to: message.from, id: message.id, encoderId: embedder.id, dim: embedder.dim } satisfies Reply);
    } else if (message.kind === 'embed') {
      embedder.embed(message.texts, { priority: message.priority }).then(
        (rows) => channel.postMessage({ kind: 'rows', to: message.from, id: message.id, values: (rows as DenseFeatures).values } satisfies Reply),
        (error: unknown) => channel.postMessage({ kind: 'error', to: message.from, id: message.id, message: error instanceof Error ? error.message : String(error) } satisfies Reply),
      );
    }
  };
}

/** An embedder hosted by another thread of this process under `name`, or null when none answers. */
export async function connectEmbedder(name: string, timeoutMs = 1000): Promise<Embedder | null> {
  const channel = new BroadcastChannel(name);
  const from = `${threadId}:${randomUUID()}`;
  const waiting = new Map<number, { resolve(reply: Reply): void }>();
  let nextId = 1;
  channel.onmessage = (event: unknown) => {
    const reply = (event as { data: Request | Reply }).data;
    if ('to' in reply && reply.to === from) {
      waiting.get(reply.id)?.resolve(reply);
      waiting.delete(reply.id);
    }
  };
  const ask = (request: Omit<Extract<Request, { kind: 'ping' }>, 'from' | 'id'> | Omit<Extract<Request, { kind: 'embed' }>, 'from' | 'id'>): Promise<Reply> =>
    new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, { resolve });
      // Only while a request is out does the channel keep the thread alive.
      channel.ref();
      channel.postMessage({ ...request, from, id });
    }).finally(() => {
      if (waiting.size === 0) channel.unref();
    }) as Promise<Reply>;

  const timer = new Promise<null>((resolve) => setTimeout(() => resolve(null), timeoutMs).unref());
  const pong = await Promise.race([ask({ kind: 'ping' }), timer]);
  if (pong === null || pong.kind !== 'pong') {
    waiting.clear();
    channel.close();
    return null;
  }
  const { encoderId, dim } = pong;
  return {
    id: encoderId,
    kind: 'dense',
    dim,
    async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<DenseFeatures> {
      const reply = await ask({ kind: 'embed', texts: [...texts], priority: options.priority ?? 'interactive' });
      if (reply.kind === 'error') throw new MlBackendError('MLB_ERR_MODEL', 500, `embedding failed: ${reply.message}`);
      if (reply.kind !== 'rows' || reply.values.length !== texts.length * dim) throw new MlBackendError('MLB_ERR_MODEL', 500, 'the embedding host sent a malformed reply');
      return { kind: 'dense', rows: texts.length, dim, values: reply.values };
    },
    dispose: () => channel.close(),
  };
}
