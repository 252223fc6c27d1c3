import { AGE_COLUMN, ageOf, col, CONTAINERS_COLUMN, containerCells, IMAGES_COLUMN, NAME_COLUMN, nameOf, num, obj, scaleSubresource, statusSubresource, workloadScale } from '../common.ts';
import { fieldForbidden } from '../../../api/status.ts';
import type { ResourceDef } from '../../types.ts';
import { defaultWorkload, validateWorkload } from './workload.ts';

// Fields of a StatefulSet spec that may change after creation (upstream's list).
const MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

export const statefulsets: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'StatefulSet',
  plural: 'statefulsets',
  singular: 'statefulset',
  shortNames: ['sts'],
  categories: ['all'],
  namespaced: true,
  generation: true,
  hasStatus: true,
  subresources: [scaleSubresource, statusSubresource({ group: 'apps', version: 'v1', kind: 'StatefulSet' })],
  scale: workloadScale,
  topLevelFields: ['spec', 'status'],
  defaults(o) {
    const spec = defaultWorkload(o, true);
    spec.podManagementPolicy ??= 'OrderedReady';
    const us = obj(spec.updateStrategy);
    us.type ??= 'RollingUpdate';
    if (us.type === 'RollingUpdate') us.rollingUpdate = { partition: 0, ...obj(us.rollingUpdate) };
    spec.updateStrategy = us;
    spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
  },
  prepareForCreate(o) {
    o.status = { replicas: 0, availableReplicas: 0 };
  },
  validate: (o) => validateWorkload(o),
  validateUpdate(o, old) {
    const strip = (s: unknown) => {
      const c = { ...obj(s) };
      for (const k of MUTABLE) delete c[k];
      return JSON.stringify(c);
    };
    if (strip(o.spec) !== strip(old.spec)) {
      return [fieldForbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")];
    }
    return [];
  },
  table: {
    columns: [NAME_COLUMN, col('Ready', 'string', 0, 'Number of the pod with ready state'), AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN],
    cells: (o, now) => {
      const spec = obj(o.spec);
      const [c, i] = containerCells(obj(spec.template).spec);
      return [nameOf(o), `${num(obj(o.status).readyReplicas)}/${num(spec.replicas)}`, ageOf(o, now), c, i];
    },
  },
};
