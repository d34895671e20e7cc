/**
 * Downloads the file a task value names, under the task URL policy (./fetch-policy.ts): each hop
 * (redirects are followed by hand) is decided again — may it be fetched at all, to which
 * addresses, may it carry the Label Studio key (only Label Studio's own origin). A failure names
 * the URL and the status, never the remote body (a private service's error page stays private).
 */
import { fetch as undiciFetch } from 'undici';
import { TaskDataError } from '../errors.js';
import { networkReason, readLimited } from './http-body.js';
import { PRIVATE_ADDRESS_CODE, type TaskUrlPolicy } from './fetch-policy.js';
import type { LabelStudioConnection } from './ls-connection.js';

const MAX_REDIRECTS = 5;

export interface TaskFileFetcherOptions {
  /** Label Studio (for its key and origin); undefined when LABEL_STUDIO_URL is not set. */
  connection: LabelStudioConnection | undefined;
  policy: TaskUrlPolicy;
  timeoutMs: number;
  maxBytes: number;
  /** Tests: replaces undici's fetch (the connect-time address check then does not apply). */
  fetchImpl?: typeof fetch | undefined;
}

export class TaskFileFetcher {
  constructor(private readonly options: TaskFileFetcherOptions) {}

  async get(url: string, what: string, signal?: AbortSignal): Promise<Uint8Array> {
    const { connection, policy, timeoutMs, maxBytes } = this.options;
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const describe = (target: string) => (connection ? connection.describe(target) : describeBare(target));
    let current = url;
    let viaLabelStudio = false;
    try {
      for (let hop = 0; ; hop++) {
        const target = new URL(current);
        const decision = policy.decide(target, viaLabelStudio);
        if ('refused' in decision) {
          throw new TaskDataError(`Refused to fetch ${what} from ${describe(current)}: ${decision.reason}`, { refused: decision.refused });
        }
        const fromLabelStudio = connection?.isLabelStudio(current) ?? false;
        const headers: Record<string, string> = { Accept: '*/*' };
        if (fromLabelStudio && connection?.hasKey) headers['Authorization'] = await connection.authHeader(combined);
        const response = await this.#fetch(current, { headers, redirect: 'manual', signal: combined }, decision.reach);
        const location = response.headers.get('location');
        if (response.status >= 300 && response.status < 400 && location) {
          await response.body?.cancel();
          if (hop >= MAX_REDIRECTS) throw new TaskDataError(`Could not download ${what}: more than ${MAX_REDIRECTS} redirects`);
          current = new URL(location, current).toString();
          if (!/^https?:$/.test(new URL(current).protocol)) throw new TaskDataError(`Could not download ${what}: redirected to a non-http(s) URL`);
          viaLabelStudio = fromLabelStudio;
          continue;
        }
        if (!response.ok) {
          await response.body?.cancel();
          const hint = fromLabelStudio && (response.status === 401 || response.status === 403) ? ' (check LABEL_STUDIO_API_KEY)' : '';
          throw new TaskDataError(
            `Could not download ${what}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''} from ${describe(current)}${hint}`,
            { upstream_status: response.status },
          );
        }
        return await readLimited(response, maxBytes, () => `Could not download ${what}: larger than ${maxBytes} bytes`);
      }
    } catch (error) {
      if (error instanceof TaskDataError) throw error;
      const cause = (error as { cause?: { code?: unknown; message?: string } }).cause;
      if (cause?.code === PRIVATE_ADDRESS_CODE) {
        throw new TaskDataError(`Refused to fetch ${what} from ${describe(current)}: ${cause.message ?? 'a private address'}`, { refused: 'private_address' });
      }
      if (timeout.aborted) throw new TaskDataError(`Could not download ${what} from ${describe(current)}: timed out after ${timeoutMs} ms`);
      if (signal?.aborted) throw new TaskDataError(`Download of ${what} was cancelled`, undefined, { cause: signal.reason });
      const reason = networkReason(error);
      throw new TaskDataError(`Could not download ${what} from ${describe(current)}: ${connection ? connection.scrub(reason) : reason}`);
    }
  }

  #fetch(url: string, init: RequestInit, reach: 'any-address' | 'public-only'): Promise<Response> {
    if (this.options.fetchImpl) return this.options.fetchImpl(url, init);
    const dispatcher = this.options.policy.dispatcher(reach);
    return undiciFetch(url, { ...(init as unknown as Parameters<typeof undiciFetch>[1]), dispatcher });
  }
}

function describeBare(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}
