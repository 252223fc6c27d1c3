// core/v1 Events; events.k8s.io/v1 serves the same stored objects with renamed fields.

import { age } from '../../../api/duration.ts';
import { col, field, obj, str } from '../common.ts';
import type { KubeObject } from '../../../api/meta.ts';
import type { ResourceDef } from '../../types.ts';

function lastSeen(o: KubeObject, now: number): string {
  const series = obj(o.series);
  const t = series.lastObservedTime ?? o.lastTimestamp ?? o.eventTime ?? o.metadata?.creationTimestamp;
  return age(t, now);
}

function firstSeen(o: KubeObject, now: number): string {
  return age(o.firstTimestamp ?? o.eventTime ?? o.metadata?.creationTimestamp, now);
}

function sourceText(o: KubeObject): string {
  const s = obj(o.source);
  const comp = (s.component as string | undefined) ?? (o.reportingComponent as string | undefined) ?? '';
  const host = (s.host as string | undefined) ?? (o.reportingInstance as string | undefined) ?? '';
  return host ? `${comp}, ${host}` : comp;
}

export const events: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  shortNames: ['ev'],
  namespaced: true,
  ttlSeconds: 3600,
  topLevelFields: [
    'involvedObject', 'reason', 'message', 'source', 'firstTimestamp', 'lastTimestamp', 'count', 'type', 'eventTime',
    'series', 'action', 'related', 'reportingComponent', 'reportingInstance',
  ],
  fieldSelectors: {
    'involvedObject.kind': field('involvedObject.kind'),
    'involvedObject.namespace': field('involvedObject.namespace'),
    'involvedObject.name': field('involvedObject.name'),
    'involvedObject.uid': field('involvedObject.uid'),
    'involvedObject.apiVersion': field('involvedObject.apiVersion'),
    'involvedObject.resourceVersion': field('involvedObject.resourceVersion'),
    'involvedObject.fieldPath': field('involvedObject.fieldPath'),
    reason: field('reason'),
    reportingComponent: field('reportingComponent'),
    source: (o) => String(obj(o.source).component ?? ''),
    type: field('type'),
  },
  table: {
    columns: [
      col('Last Seen', 'string', 0, 'Time when last event from this source was observed.'),
      col('Type', 'string', 0, 'Type of this event (Normal, Warning), new types could be added in the future.'),
      col('Reason', 'string', 0, 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.'),
      col('Object', 'string', 0, 'The object that this event is about.'),
      col('Subobject', 'string', 1, 'The subobject that this event is about.'),
      col('Source', 'string', 1, 'The component reporting this event. Should be a short machine understandable string.'),
      col('Message', 'string', 0, 'A human-readable description of the status of this operation.'),
      col('First Seen', 'string', 1, 'The time at which the event was first recorded.'),
      col('Count', 'integer', 1, 'The number of times this event has occurred.'),
      col('Name', 'string', 1, 'Name of the event.'),
    ],
    cells: (o, now) => {
      const io = obj(o.involvedObject);
      const count = typeof o.count === 'number' ? o.count : typeof obj(o.series).count === 'number' ? (obj(o.series).count as number) : 1;
      return [
        lastSeen(o, now),
        String(o.type ?? ''),
        String(o.reason ?? ''),
        `${String(io.kind ?? '').toLowerCase()}/${String(io.name ?? '')}`,
        String(io.fieldPath ?? ''),
        sourceText(o),
        String(o.message ?? '').trim(),
        firstSeen(o, now),
        count,
        o.metadata?.name ?? '',
      ];
    },
  },
};

// events.k8s.io/v1 ↔ core/v1 field names (stored form is core/v1).
const renames: [string, string][] = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];

function rename(o: KubeObject, pairs: [string, string][]): KubeObject {
  const out: KubeObject = { ...o };
  for (const [from, to] of pairs) {
    if (from in out) {
      out[to] = out[from];
      delete out[from];
    }
  }
  return out;
}

export const eventsV1: ResourceDef = {
  group: 'events.k8s.io',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  shortNames: ['ev'],
  namespaced: true,
  ttlSeconds: 3600,
  storage: { group: '', plural: 'events' },
  fromStorage: (o) => rename(o, renames.map(([a, b]) => [b, a])),
  toStorage: (o) => {
    const s = rename(o, renames);
    s.apiVersion = 'v1';
    s.kind = 'Event';
    return s;
  },
  topLevelFields: [
    'eventTime', 'series', 'reportingController', 'reportingInstance', 'action', 'reason', 'regarding', 'related', 'note', 'type',
    'deprecatedSource', 'deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount',
  ],
  fieldSelectors: {
    'regarding.kind': field('regarding.kind'),
    'regarding.namespace': field('regarding.namespace'),
    'regarding.name': field('regarding.name'),
    'regarding.uid': field('regarding.uid'),
    'regarding.apiVersion': field('regarding.apiVersion'),
    'regarding.resourceVersion': field('regarding.resourceVersion'),
    'regarding.fieldPath': field('regarding.fieldPath'),
    reason: field('reason'),
    reportingController: field('reportingController'),
    type: field('type'),
  },
};

export const noneIfEmpty = str;
