// Host ports: a (protocol, port) pair is taken on a node when any pod there uses it on the same IP
// or on 0.0.0.0 (which overlaps every IP).

import { skip, unschedulable, type HostPort, type Plugin } from '../types.ts';

function conflicts(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.protocol !== b.protocol) return false;
  return a.ip === b.ip || a.ip === '0.0.0.0' || b.ip === '0.0.0.0';
}

export const nodePorts: Plugin = {
  name: 'NodePorts',
  preFilter(ctx) {
    return ctx.pod.hostPorts.length === 0 ? { status: skip } : undefined;
  },
  filter(ctx, node) {
    for (const want of ctx.pod.hostPorts) {
      for (const used of node.usedPorts) {
        if (conflicts(want, used)) return unschedulable("node(s) didn't have free ports for the requested pod ports");
      }
    }
    return undefined;
  },
};
