// Container events of one cluster from the engine's event stream, so the kubelet reacts to
// exits and OOM kills without polling.
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { RuntimeEvent, RuntimeEventType } from '../types.ts';
import { L } from './labels.ts';
import { jsonLines } from './streams.ts';

const TYPES: readonly RuntimeEventType[] = ['create', 'start', 'die', 'oom', 'destroy'];

interface EngineEvent {
  Type?: string;
  Action?: string;
  id?: string;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export function toRuntimeEvent(e: EngineEvent): RuntimeEvent | undefined {
  const type = e.Action as RuntimeEventType;
  if (e.Type !== 'container' || !TYPES.includes(type)) return undefined;
  const attrs = e.Actor?.Attributes ?? {};
  const event: RuntimeEvent = {
    type,
    id: e.Actor?.ID ?? e.id ?? '',
    kind: attrs[L.kind] === 'sandbox' ? 'sandbox' : 'container',
    pod: { uid: attrs[L.podUid] ?? '', namespace: attrs[L.podNamespace] ?? '', name: attrs[L.podName] ?? '' },
    containerName: attrs[L.containerName] ?? '',
    time: new Date(Math.floor((e.timeNano ?? Date.now() * 1e6) / 1e6)),
  };
  if (type === 'die' && attrs.exitCode !== undefined) event.exitCode = Number(attrs.exitCode);
  return event;
}

export async function* events(docker: Docker, cluster: string, signal: AbortSignal): AsyncGenerator<RuntimeEvent> {
  if (signal.aborted) return;
  const filters = { type: ['container'], event: [...TYPES], label: [`${L.cluster}=${cluster}`] };
  // dockerode's typings want filters as a string; the engine takes the JSON either way.
  const stream = (await docker.getEvents({ filters: JSON.stringify(filters), abortSignal: signal } as Docker.GetEventsOptions)) as unknown as Readable;
  const onAbort = () => stream.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const raw of jsonLines(stream)) {
      const event = toRuntimeEvent(raw as EngineEvent);
      if (event) yield event;
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    stream.destroy();
  }
}
