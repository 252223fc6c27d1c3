// A pod that names its node fits only there (the scheduler normally never sees such pods: they
// bypass scheduling; this keeps preemption and dry runs honest).

import { unresolvable, type Plugin } from '../types.ts';

export const nodeName: Plugin = {
  name: 'NodeName',
  filter(ctx, node) {
    const want = ctx.pod.pod.spec?.nodeName;
    if (want && want !== node.name) return unresolvable("node(s) didn't match the requested node name");
    return undefined;
  },
};
