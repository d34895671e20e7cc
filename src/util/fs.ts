/**
 * Durable file writes and hashing, written once: the checkpoint store, the version pointer and
 * the TF.js file IO all need "fsync, then rename" and a streamed sha256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** The errno code of a file-system error (ENOENT, EEXIST ...), if any. */
export function errnoCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Writes `data` and fsyncs the file before closing it. */
export async function writeSynced(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a directory so a rename or a new entry in it survives a power cut. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'EINVAL' && code !== 'EPERM') throw error; // file systems without directory fsync
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `target` atomically: a synced temp sibling renamed over it, then the directory synced.
 * Readers see the old content or the new one, never a mix.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeSynced(temp, data);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDir(path.dirname(target));
}

export interface FileDigest {
  size: number;
  sha256: string;
}

/** Streams a file through sha256 (weights can be large; the event loop stays free). */
export async function hashFile(file: string, options: { sync?: boolean } = {}): Promise<FileDigest> {
  const handle = await open(file, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(1 << 20);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
    if (options.sync) await handle.sync();
    return { size, sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}
