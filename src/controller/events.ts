// Recording Events the way upstream components do, so `kubectl describe` and `kubectl events`
// show them: core/v1 Events named <object>.<hex>, repeats of the same event (same object, type,
// reason, message, source) aggregated by bumping count and lastTimestamp instead of new objects.
import { randomBytes } from 'node:crypto';
import { isNotFound, type Client, type KubeObject, type ResourceRef } from '../client/types.ts';
import { logger } from '../util/log.ts';

const log = logger('events');
const eventsRef: ResourceRef = { group: '', version: 'v1', resource: 'events', namespaced: true };

export type EventType = 'Normal' | 'Warning';

interface Recorded {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

export class EventRecorder {
  // Remembered events for aggregation; bounded so a noisy controller cannot grow it forever.
  private readonly recent = new Map<string, Recorded>();
  private readonly maxRemembered = 4096;

  constructor(
    private readonly client: Client,
    /** Reported as source.component / reportingComponent, e.g. "deployment-controller". */
    private readonly component: string,
    private readonly host?: string,
  ) {}

  /** Fire and forget: a failed event write is logged, never fails the caller. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    void this.record(obj, type, reason, message).catch((e) => log.warn('event not recorded', { reason, error: e }));
  }

  async record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace || 'default';
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const key = [obj.metadata.uid, obj.metadata.namespace, obj.metadata.name, type, reason, message].join('\u0000');
    const prior = this.recent.get(key);
    if (prior) {
      prior.count++;
      try {
        await this.client.patch(eventsRef, prior.name, 'merge', { count: prior.count, lastTimestamp: now }, { namespace: prior.namespace });
        return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        this.recent.delete(key); // expired or deleted: write a new one
      }
    }
    const name = `${obj.metadata.name ?? 'unknown'}.${randomBytes(8).toString('hex')}`;
    const body: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        kind: obj.kind,
        apiVersion: obj.apiVersion,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      reportingComponent: this.component,
      reportingInstance: this.host ?? '',
    };
    await this.client.create(eventsRef, body);
    if (this.recent.size >= this.maxRemembered) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    this.recent.set(key, { name, namespace, count: 1, firstTimestamp: now });
  }
}
