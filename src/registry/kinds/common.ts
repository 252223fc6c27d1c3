// Building blocks shared by kind files: subresource entries, table cell helpers, field getters.

import { age } from '../../api/duration.ts';
import type { FieldGetter } from '../../api/fields.ts';
import { getPath, isObject, type KubeObject } from '../../api/meta.ts';
import type { GroupVersionKind, ResourceDef, SubresourceDef, TableColumn } from '../types.ts';

export const gvkOf = (def: Pick<ResourceDef, 'group' | 'version' | 'kind'>): GroupVersionKind => ({
  group: def.group,
  version: def.version,
  kind: def.kind,
});

export const statusSubresource = (gvk: GroupVersionKind): SubresourceDef => ({ name: 'status', kind: gvk, verbs: ['get', 'patch', 'update'] });

export const scaleSubresource: SubresourceDef = {
  name: 'scale',
  kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  verbs: ['get', 'patch', 'update'],
};

/** Standard scale paths for apps-style workloads. */
export const workloadScale = {
  specReplicasPath: 'spec.replicas',
  statusReplicasPath: 'status.replicas',
  labelSelectorPath: 'spec.selector',
};

export const NAME_COLUMN: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
};

export const AGE_COLUMN: TableColumn = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
};

export const col = (name: string, type: TableColumn['type'] = 'string', priority = 0, description = ''): TableColumn => ({
  name,
  type,
  format: '',
  description,
  priority,
});

export const nameOf = (o: KubeObject): string => o.metadata?.name ?? '';
export const ageOf = (o: KubeObject, now: number): string => age(o.metadata?.creationTimestamp, now);

export function str(v: unknown, none = '<none>'): string {
  if (v === undefined || v === null || v === '') return none;
  return String(v);
}

export function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

export function obj(v: unknown): Record<string, unknown> {
  return isObject(v) ? v : {};
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Field getter for a dotted path, stringifying scalars like upstream's field sets. */
export const field = (path: string): FieldGetter => (o) => {
  const v = getPath(o, path);
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : String(v);
};

export const countKeys = (v: unknown): number => (isObject(v) ? Object.keys(v).length : 0);

/** Containers, Images, Selector wide cells shared by the workload kinds. */
export function containerCells(podSpec: unknown): [string, string] {
  const cs = arr(obj(podSpec).containers).map(obj);
  return [cs.map((c) => String(c.name ?? '')).join(','), cs.map((c) => String(c.image ?? '')).join(',')];
}

export const CONTAINERS_COLUMN = col('Containers', 'string', 1, 'Names of each container in the template.');
export const IMAGES_COLUMN = col('Images', 'string', 1, 'Images referenced by each container in the template.');
export const SELECTOR_COLUMN = col('Selector', 'string', 1, 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.');

/** A stored-mostly kind: name, scope and discovery facts, default table, no extra validation. */
export function simpleKind(d: {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  nameRule?: ResourceDef['nameRule'];
  verbs?: ResourceDef['verbs'];
  extra?: Partial<ResourceDef>;
}): ResourceDef {
  const def: ResourceDef = {
    group: d.group,
    version: d.version,
    kind: d.kind,
    plural: d.plural,
    singular: d.kind.toLowerCase(),
    namespaced: d.namespaced,
    ...(d.shortNames ? { shortNames: d.shortNames } : {}),
    ...(d.categories ? { categories: d.categories } : {}),
    ...(d.nameRule ? { nameRule: d.nameRule } : {}),
    ...(d.verbs ? { verbs: d.verbs } : {}),
  };
  if (d.status) {
    def.hasStatus = true;
    def.generation = true;
    def.subresources = [statusSubresource({ group: d.group, version: d.version, kind: d.kind })];
  }
  return { ...def, ...(d.extra ?? {}) };
}
