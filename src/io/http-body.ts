/** Reading fetch responses safely: bounded bodies, the real network reason. */
import { TaskDataError } from '../errors.js';

export async function readLimited(response: Response, maxBytes: number, tooLarge: () => string): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new TaskDataError(tooLarge());
  }
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new TaskDataError(tooLarge());
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** undici reports "fetch failed" with the useful part (ECONNREFUSED, ENOTFOUND ...) in `cause`. */
export function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ? `${code} (${cause.message})` : cause.message;
  }
  return error.message;
}
