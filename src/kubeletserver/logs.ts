// Container logs as the kubelet serves them: PodLogOptions from the query, bytes out, following
// until the container stops or the reader leaves.
import type { NodeRuntime } from '../runtime/types.ts';
import { findContainer, KubeletError, type ContainerRef } from './lookup.ts';

export interface LogParams {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  sinceTime?: Date;
  limitBytes?: number;
  stream?: 'stdout' | 'stderr' | 'all';
}

type Query = URLSearchParams;

const flag = (q: Query, name: string) => q.get(name) === 'true' || q.get(name) === '1';

function positiveInt(q: Query, name: string, min: number): number | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new KubeletError(400, `${name}: Invalid value: ${JSON.stringify(raw)}: must be ${min === 0 ? 'greater than or equal to 0' : 'greater than 0'}`);
  return n;
}

/** PodLogOptions from a query string; the same names the API server's pods/log takes. */
export function parseLogParams(q: Query): LogParams {
  const p: LogParams = { follow: flag(q, 'follow'), previous: flag(q, 'previous'), timestamps: flag(q, 'timestamps') };
  const tail = positiveInt(q, 'tailLines', 0);
  if (tail !== undefined) p.tailLines = tail;
  const since = positiveInt(q, 'sinceSeconds', 1);
  if (since !== undefined) p.sinceSeconds = since;
  const sinceTime = q.get('sinceTime');
  if (sinceTime) {
    const t = new Date(sinceTime);
    if (Number.isNaN(t.getTime())) throw new KubeletError(400, `sinceTime: Invalid value: ${JSON.stringify(sinceTime)}: not an RFC 3339 time`);
    p.sinceTime = t;
  }
  if (p.sinceSeconds !== undefined && p.sinceTime) throw new KubeletError(400, 'at most one of `sinceTime` or `sinceSeconds` may be specified');
  const limit = positiveInt(q, 'limitBytes', 1);
  if (limit !== undefined) p.limitBytes = limit;
  const stream = q.get('stream');
  if (stream === 'Stdout') p.stream = 'stdout';
  else if (stream === 'Stderr') p.stream = 'stderr';
  return p;
}

/** Opens the log stream (errors surface before the first byte, so they can still be HTTP errors). */
export async function openLogs(runtime: NodeRuntime, ref: ContainerRef, p: LogParams, signal: AbortSignal): Promise<AsyncIterable<Buffer>> {
  const container = await findContainer(runtime, ref, p.previous);
  const since = p.sinceTime ?? (p.sinceSeconds !== undefined ? new Date(Date.now() - p.sinceSeconds * 1000) : undefined);
  const chunks = runtime.containerLogs(
    container.id,
    {
      // A previous instance has exited: following it would end at once anyway.
      follow: p.follow && !p.previous,
      timestamps: p.timestamps,
      ...(since ? { since } : {}),
      ...(p.tailLines !== undefined ? { tail: p.tailLines } : {}),
      ...(p.stream ? { stream: p.stream } : {}),
    },
    signal,
  );
  return limitBytes(chunks, p.limitBytes);
}

async function* limitBytes(chunks: AsyncIterable<{ data: Buffer }>, limit: number | undefined): AsyncGenerator<Buffer> {
  let left = limit ?? Infinity;
  for await (const c of chunks) {
    if (c.data.length >= left) {
      yield c.data.subarray(0, left);
      return;
    }
    left -= c.data.length;
    yield c.data;
  }
}
