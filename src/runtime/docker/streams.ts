// Small helpers for dockerode's streaming answers (pull/import progress, JSON event lines).
import type { Readable } from 'node:stream';

/** Reads a JSON-lines progress stream to its end; rejects with the first {"error": …} it carries. */
export async function drainProgress(stream: NodeJS.ReadableStream): Promise<void> {
  let firstError: string | undefined;
  for await (const obj of jsonLines(stream as Readable)) {
    const err = (obj as { error?: unknown }).error;
    if (typeof err === 'string' && firstError === undefined) firstError = err;
  }
  if (firstError !== undefined) throw new Error(firstError);
}

/** Parses newline-separated JSON objects as they arrive. */
export async function* jsonLines(stream: Readable): AsyncGenerator<unknown> {
  let pending = '';
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) yield JSON.parse(line) as unknown;
    }
  }
  if (pending.trim()) yield JSON.parse(pending) as unknown;
}

/** The HTTP status dockerode attaches to engine errors, if any. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The engine's own message from a dockerode error ("(HTTP code 404) no such container - …" otherwise). */
export function engineMessage(err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | null)?.json;
  if (json && typeof json.message === 'string') return json.message;
  return err instanceof Error ? err.message : String(err);
}
