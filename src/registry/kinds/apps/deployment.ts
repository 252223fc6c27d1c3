import { AGE_COLUMN, ageOf, col, CONTAINERS_COLUMN, containerCells, IMAGES_COLUMN, NAME_COLUMN, nameOf, num, obj, scaleSubresource, SELECTOR_COLUMN, statusSubresource, workloadScale } from '../common.ts';
import type { ResourceDef } from '../../types.ts';
import { defaultWorkload, selectorCell, validateSelectorImmutable, validateWorkload } from './workload.ts';

export const deployments: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  singular: 'deployment',
  shortNames: ['deploy'],
  categories: ['all'],
  namespaced: true,
  generation: true,
  hasStatus: true,
  subresources: [scaleSubresource, statusSubresource({ group: 'apps', version: 'v1', kind: 'Deployment' })],
  scale: workloadScale,
  topLevelFields: ['spec', 'status'],
  specFields: ['replicas', 'selector', 'template', 'strategy', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds'],
  defaults(o) {
    const spec = defaultWorkload(o, true);
    spec.progressDeadlineSeconds ??= 600;
    const strategy = obj(spec.strategy);
    strategy.type ??= 'RollingUpdate';
    if (strategy.type === 'RollingUpdate') {
      const ru = obj(strategy.rollingUpdate);
      ru.maxUnavailable ??= '25%';
      ru.maxSurge ??= '25%';
      strategy.rollingUpdate = ru;
    }
    spec.strategy = strategy;
  },
  prepareForCreate(o) {
    o.status = {};
  },
  validate: (o) => validateWorkload(o),
  validateUpdate: validateSelectorImmutable,
  table: {
    columns: [
      NAME_COLUMN,
      col('Ready', 'string', 0, 'Number of the pod with ready state'),
      col('Up-to-date', 'string', 0, 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
      col('Available', 'string', 0, 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
      AGE_COLUMN,
      CONTAINERS_COLUMN,
      IMAGES_COLUMN,
      SELECTOR_COLUMN,
    ],
    cells: (o, now) => {
      const spec = obj(o.spec);
      const st = obj(o.status);
      const [c, i] = containerCells(obj(spec.template).spec);
      return [nameOf(o), `${num(st.readyReplicas)}/${num(spec.replicas)}`, num(st.updatedReplicas), num(st.availableReplicas), ageOf(o, now), c, i, selectorCell(o)];
    },
  },
};
