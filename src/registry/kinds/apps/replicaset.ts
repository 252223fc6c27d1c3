import { AGE_COLUMN, ageOf, col, CONTAINERS_COLUMN, containerCells, field, IMAGES_COLUMN, NAME_COLUMN, nameOf, num, obj, scaleSubresource, SELECTOR_COLUMN, statusSubresource, workloadScale } from '../common.ts';
import type { ResourceDef } from '../../types.ts';
import { defaultWorkload, selectorCell, validateSelectorImmutable, validateWorkload } from './workload.ts';

export const replicasets: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  singular: 'replicaset',
  shortNames: ['rs'],
  categories: ['all'],
  namespaced: true,
  generation: true,
  hasStatus: true,
  subresources: [scaleSubresource, statusSubresource({ group: 'apps', version: 'v1', kind: 'ReplicaSet' })],
  scale: workloadScale,
  topLevelFields: ['spec', 'status'],
  specFields: ['replicas', 'selector', 'template', 'minReadySeconds'],
  defaults(o) {
    const spec = defaultWorkload(o, true);
    delete spec.revisionHistoryLimit;
  },
  prepareForCreate(o) {
    o.status = { replicas: 0 };
  },
  validate: (o) => validateWorkload(o),
  validateUpdate: validateSelectorImmutable,
  fieldSelectors: { 'status.replicas': field('status.replicas') },
  table: {
    columns: [
      NAME_COLUMN,
      col('Desired', 'integer', 0, 'Replicas is the number of desired replicas.'),
      col('Current', 'integer', 0, 'Replicas is the most recently observed number of replicas.'),
      col('Ready', 'integer', 0, 'The number of ready replicas for this replica set.'),
      AGE_COLUMN,
      CONTAINERS_COLUMN,
      IMAGES_COLUMN,
      SELECTOR_COLUMN,
    ],
    cells: (o, now) => {
      const spec = obj(o.spec);
      const st = obj(o.status);
      const [c, i] = containerCells(obj(spec.template).spec);
      return [nameOf(o), num(spec.replicas), num(st.replicas), num(st.readyReplicas), ageOf(o, now), c, i, selectorCell(o)];
    },
  },
};
