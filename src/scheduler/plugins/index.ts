// The default profile: every plugin in upstream's filter order, each with its default score weight.
// Adding a plugin = one file + one line here.

import type { Plugin } from '../types.ts';
import { nodeUnschedulable } from './node-unschedulable.ts';
import { nodeName } from './node-name.ts';
import { taintToleration } from './taint-toleration.ts';
import { nodeAffinity } from './node-affinity.ts';
import { nodePorts } from './node-ports.ts';
import { nodeResourcesFit } from './node-resources-fit.ts';
import { volumeRestrictions } from './volume-restrictions.ts';
import { volumeBinding } from './volume-binding.ts';
import { podTopologySpread } from './pod-topology-spread.ts';
import { interPodAffinity } from './inter-pod-affinity.ts';
import { balancedAllocation } from './balanced-allocation.ts';
import { imageLocality } from './image-locality.ts';

export const defaultPlugins: readonly Plugin[] = [
  nodeUnschedulable,
  nodeName,
  taintToleration,
  nodeAffinity,
  nodePorts,
  nodeResourcesFit,
  volumeRestrictions,
  volumeBinding,
  podTopologySpread,
  interPodAffinity,
  balancedAllocation,
  imageLocality,
];
