import { AGE_COLUMN, ageOf, col, CONTAINERS_COLUMN, containerCells, IMAGES_COLUMN, NAME_COLUMN, nameOf, num, obj, SELECTOR_COLUMN, statusSubresource } from '../common.ts';
import { selectorText } from '../core/service.ts';
import type { ResourceDef } from '../../types.ts';
import { defaultWorkload, selectorCell, validateSelectorImmutable, validateWorkload } from './workload.ts';

export const daemonsets: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'DaemonSet',
  plural: 'daemonsets',
  singular: 'daemonset',
  shortNames: ['ds'],
  categories: ['all'],
  namespaced: true,
  generation: true,
  hasStatus: true,
  subresources: [statusSubresource({ group: 'apps', version: 'v1', kind: 'DaemonSet' })],
  topLevelFields: ['spec', 'status'],
  defaults(o) {
    const spec = defaultWorkload(o, false);
    const us = obj(spec.updateStrategy);
    us.type ??= 'RollingUpdate';
    if (us.type === 'RollingUpdate') us.rollingUpdate = { maxUnavailable: 1, maxSurge: 0, ...obj(us.rollingUpdate) };
    spec.updateStrategy = us;
  },
  prepareForCreate(o) {
    o.status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
  },
  validate: (o) => validateWorkload(o),
  validateUpdate: validateSelectorImmutable,
  table: {
    columns: [
      NAME_COLUMN,
      col('Desired', 'integer', 0, 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).'),
      col('Current', 'integer', 0, 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.'),
      col('Ready', 'integer', 0, 'numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.'),
      col('Up-to-date', 'integer', 0, 'The total number of nodes that are running updated daemon pod'),
      col('Available', 'integer', 0, 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)'),
      col('Node Selector', 'string', 0, 'NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node\'s labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/'),
      AGE_COLUMN,
      CONTAINERS_COLUMN,
      IMAGES_COLUMN,
      SELECTOR_COLUMN,
    ],
    cells: (o, now) => {
      const st = obj(o.status);
      const tplSpec = obj(obj(obj(o.spec).template).spec);
      const [c, i] = containerCells(tplSpec);
      return [
        nameOf(o),
        num(st.desiredNumberScheduled),
        num(st.currentNumberScheduled),
        num(st.numberReady),
        num(st.updatedNumberScheduled),
        num(st.numberAvailable),
        selectorText(tplSpec.nodeSelector),
        ageOf(o, now),
        c,
        i,
        selectorCell(o),
      ];
    },
  },
};
