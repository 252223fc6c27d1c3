// A cordoned node (spec.unschedulable) takes only pods tolerating node.kubernetes.io/unschedulable.

import { toleratedBy } from '../helpers.ts';
import { unresolvable, type Plugin } from '../types.ts';

export const nodeUnschedulable: Plugin = {
  name: 'NodeUnschedulable',
  filter(ctx, node) {
    if (!node.node?.spec?.unschedulable) return undefined;
    const taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
    if (toleratedBy(ctx.pod.pod.spec?.tolerations, taint)) return undefined;
    return unresolvable('node(s) were unschedulable');
  },
};
