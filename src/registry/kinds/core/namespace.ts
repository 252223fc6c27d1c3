import { arr, ageOf, AGE_COLUMN, col, field, NAME_COLUMN, nameOf, obj, statusSubresource } from '../common.ts';
import type { KubeObject } from '../../../api/meta.ts';
import type { ResourceDef } from '../../types.ts';

export const namespaces: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  shortNames: ['ns'],
  namespaced: false,
  nameRule: 'label',
  hasStatus: true,
  returnDeletedObject: true,
  subresources: [
    statusSubresource({ group: '', version: 'v1', kind: 'Namespace' }),
    { name: 'finalize', kind: { group: '', version: 'v1', kind: 'Namespace' }, verbs: ['update'] },
  ],
  topLevelFields: ['spec', 'status'],
  specFields: ['finalizers'],
  defaults(o: KubeObject) {
    const meta = o.metadata ?? {};
    // Upstream labels every namespace with its own name (NamespaceDefaultLabelName).
    meta.labels = { ...(meta.labels ?? {}), 'kubernetes.io/metadata.name': meta.name ?? '' };
    o.metadata = meta;
  },
  prepareForCreate(o) {
    const spec = obj(o.spec);
    if (!Array.isArray(spec.finalizers)) spec.finalizers = ['kubernetes'];
    o.spec = spec;
    o.status = { phase: 'Active' };
  },
  fieldSelectors: { 'status.phase': field('status.phase') },
  table: {
    columns: [NAME_COLUMN, col('Status', 'string', 0, 'The status of the namespace'), AGE_COLUMN],
    cells: (o, now) => [nameOf(o), String(obj(o.status).phase ?? ''), ageOf(o, now)],
  },
};

/** Spec finalizers still pending on a Terminating namespace. */
export const namespaceSpecFinalizers = (o: KubeObject): string[] => arr(obj(o.spec).finalizers) as string[];
