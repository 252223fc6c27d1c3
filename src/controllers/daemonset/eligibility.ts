// Which nodes a DaemonSet's pod belongs on, and how a daemon pod is pinned to its node: the
// tolerations every daemon pod gets, the node-name affinity that replaces nodeName, and the
// "should run / may keep running" answer the controller acts on.
import type { Affinity, Node, PodSpec, Toleration } from 'kubernetes-types/core/v1.js';
import { firstUntoleratedTaint, requiredNodeAffinityMatches } from '../../scheduler/helpers.ts';
import type { KubeObject, ObjectMeta } from '../../client/types.ts';
import type { PodObject } from '../replicaset/podutil.ts';

export type NodeObject = KubeObject & Omit<Node, 'metadata'> & { metadata: ObjectMeta };

// Daemons are expected to keep running through node trouble (they are often what fixes it), so
// every daemon pod tolerates the condition taints the node lifecycle controller and the kubelet
// set; NoExecute ones without tolerationSeconds, i.e. forever.
const DEFAULT_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];
// A host-network pod does not need the pod network, so it may start before the CNI is up.
const HOST_NETWORK_TOLERATION: Toleration = { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' };

const sameToleration = (a: Toleration, b: Toleration) => (a.key ?? '') === (b.key ?? '') && (a.operator ?? 'Equal') === (b.operator ?? 'Equal') && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '');

/**
 * The template's tolerations plus the daemon defaults. As upstream does, a user toleration with
 * the same key/operator/value/effect is replaced by the default (so it loses tolerationSeconds).
 */
export function daemonTolerations(spec: PodSpec | undefined): Toleration[] {
  const out = structuredClone(spec?.tolerations ?? []);
  const defaults = spec?.hostNetwork ? [...DEFAULT_TOLERATIONS, HOST_NETWORK_TOLERATION] : DEFAULT_TOLERATIONS;
  for (const d of defaults) {
    const i = out.findIndex((t) => sameToleration(t, d));
    if (i >= 0) out[i] = { ...d };
    else out.push({ ...d });
  }
  return out;
}

/**
 * The template's required node affinity with every term's matchFields replaced by
 * `metadata.name In [node]` (matchExpressions kept), or one such term when there was none:
 * the scheduler then can only bind the pod to that node, and still checks resources and ports.
 */
export function pinToNode(affinity: Affinity | undefined, nodeName: string): Affinity {
  const out = structuredClone(affinity ?? {});
  const pin = [{ key: 'metadata.name', operator: 'In', values: [nodeName] }];
  const nodeAffinity = (out.nodeAffinity ??= {});
  const terms = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    nodeSelectorTerms: terms.length === 0 ? [{ matchFields: pin }] : terms.map((t) => ({ ...t, matchFields: structuredClone(pin) })),
  };
  return out;
}

/** The node a daemon pod is for: where it is bound, else the node its affinity pins it to. */
export function targetNodeOf(pod: PodObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

export interface Placement {
  /** A daemon pod should be created here if there is none. */
  shouldRun: boolean;
  /** An existing daemon pod may stay (false: delete it — it is misscheduled). */
  shouldContinueRunning: boolean;
}

/**
 * Upstream's rule: the node must match nodeSelector and required node affinity, or nothing runs
 * there; with an untolerated NoSchedule taint nothing new starts but a running pod stays unless a
 * NoExecute taint is untolerated too. `spec.unschedulable` itself is not consulted: it is seen as
 * the node.kubernetes.io/unschedulable taint, which every daemon pod tolerates.
 */
export function placementOn(node: NodeObject, template: PodSpec | undefined): Placement {
  const name = node.metadata.name ?? '';
  const spec = template ?? { containers: [] };
  if (spec.nodeName && spec.nodeName !== name) return { shouldRun: false, shouldContinueRunning: false };
  const asNode = node as unknown as Node;
  if (!requiredNodeAffinityMatches({ spec }, asNode)) return { shouldRun: false, shouldContinueRunning: false };
  const tolerations = daemonTolerations(spec);
  const taints = node.spec?.taints;
  if (!firstUntoleratedTaint(taints, tolerations, ['NoSchedule', 'NoExecute'])) return { shouldRun: true, shouldContinueRunning: true };
  return { shouldRun: false, shouldContinueRunning: !firstUntoleratedTaint(taints, tolerations, ['NoExecute']) };
}
