// PersistentVolumeClaims: unbound Immediate claims keep the pod out (the PV controller binds them
// first); a bound claim's PV node affinity must match the node; an unbound WaitForFirstConsumer
// claim needs an available matching PV reachable from the node, or a provisioner that can create
// one there. The decisions per node are kept for the bind step (see volumeDecisions).

import type { PersistentVolume, PersistentVolumeClaim, Pod } from '../k8s.ts';
import { nodeSelectorTermMatches } from '../helpers.ts';
import { skip, unresolvable, type CycleContext, type NodeInfo, type Plugin } from '../types.ts';
import { intValue } from '../quantity.ts';

const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

interface Claims {
  bound: { claim: PersistentVolumeClaim; pv: PersistentVolume | undefined }[];
  delayed: PersistentVolumeClaim[];
  /** node name → decisions for the delayed claims */
  decisions: Map<string, VolumeDecision[]>;
}

export interface VolumeDecision {
  claim: PersistentVolumeClaim;
  /** A pre-provisioned PV to bind the claim to, or undefined: provision dynamically on the node. */
  pv?: PersistentVolume;
}

const STATE = 'VolumeBinding';

/** Claim names the pod uses (persistentVolumeClaim and generic ephemeral volumes). */
export function podClaimNames(pod: Pod): string[] {
  const out: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim) out.push(v.persistentVolumeClaim.claimName);
    else if (v.ephemeral) out.push(`${pod.metadata?.name}-${v.name}`);
  }
  return out;
}

export function pvMatchesNode(pv: PersistentVolume, node: NodeInfo): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!terms || !node.node) return true;
  return terms.some((t) => nodeSelectorTermMatches(t, node.node!));
}

function className(claim: PersistentVolumeClaim): string {
  return claim.spec?.storageClassName ?? '';
}

function pvAvailableFor(pv: PersistentVolume, claim: PersistentVolumeClaim): boolean {
  const ref = pv.spec?.claimRef;
  if (ref && !(ref.namespace === claim.metadata?.namespace && ref.name === claim.metadata?.name)) return false;
  if (pv.metadata?.deletionTimestamp) return false;
  if (pv.status?.phase && pv.status.phase !== 'Available' && !ref) return false;
  if ((pv.spec?.storageClassName ?? '') !== className(claim)) return false;
  if ((pv.spec?.volumeMode ?? 'Filesystem') !== (claim.spec?.volumeMode ?? 'Filesystem')) return false;
  const want = intValue(claim.spec?.resources?.requests?.storage ?? 0);
  if (intValue(pv.spec?.capacity?.storage ?? 0) < want) return false;
  const modes = pv.spec?.accessModes ?? [];
  for (const m of claim.spec?.accessModes ?? []) if (!modes.includes(m)) return false;
  return true;
}

export const volumeBinding: Plugin = {
  name: 'VolumeBinding',
  preFilter(ctx) {
    const pod = ctx.pod.pod;
    const names = podClaimNames(pod);
    if (names.length === 0) return { status: skip };
    const st: Claims = { bound: [], delayed: [], decisions: new Map() };
    for (const name of names) {
      const claim = ctx.snapshot.pvc(ctx.pod.namespace, name);
      if (!claim) return { status: unresolvable(`persistentvolumeclaim "${name}" not found`) };
      if (claim.metadata?.deletionTimestamp) return { status: unresolvable(`persistentvolumeclaim "${name}" is being deleted`) };
      const volumeName = claim.spec?.volumeName;
      if (volumeName) {
        st.bound.push({ claim, pv: ctx.snapshot.pv(volumeName) });
        continue;
      }
      const cls = ctx.snapshot.storageClass(className(claim));
      if (cls?.volumeBindingMode === 'WaitForFirstConsumer') st.delayed.push(claim);
      else return { status: unresolvable('pod has unbound immediate PersistentVolumeClaims') };
    }
    ctx.state.set(STATE, st);
    return undefined;
  },
  filter(ctx, node) {
    const st = ctx.state.get(STATE) as Claims;
    const reasons: string[] = [];
    for (const b of st.bound) {
      if (!b.pv || !pvMatchesNode(b.pv, node)) {
        reasons.push('node(s) had volume node affinity conflict');
        break;
      }
    }
    const decisions: VolumeDecision[] = [];
    const taken = new Set<string>();
    let unbindable = false;
    for (const claim of st.delayed) {
      // The smallest available PV that fits, as the PV controller would pick.
      let best: PersistentVolume | undefined;
      for (const pv of ctx.snapshot.pvs()) {
        const name = pv.metadata?.name ?? '';
        if (taken.has(name) || !pvAvailableFor(pv, claim) || !pvMatchesNode(pv, node)) continue;
        if (!best || intValue(pv.spec?.capacity?.storage ?? 0) < intValue(best.spec?.capacity?.storage ?? 0)) best = pv;
      }
      if (best) {
        taken.add(best.metadata?.name ?? '');
        decisions.push({ claim, pv: best });
        continue;
      }
      const cls = ctx.snapshot.storageClass(className(claim));
      if (cls && cls.provisioner !== NO_PROVISIONER && provisionableOn(cls.allowedTopologies, node)) decisions.push({ claim });
      else unbindable = true;
    }
    if (unbindable) reasons.push("node(s) didn't find available persistent volumes to bind");
    if (reasons.length > 0) return unresolvable(...reasons);
    st.decisions.set(node.name, decisions);
    return undefined;
  },
};

function provisionableOn(topologies: { matchLabelExpressions?: { key: string; values: string[] }[] }[] | undefined, node: NodeInfo): boolean {
  if (!topologies || topologies.length === 0) return true;
  return topologies.some((t) => (t.matchLabelExpressions ?? []).every((e) => e.values.includes(node.labels[e.key] ?? '\0')));
}

/** What the bind step must do for the pod's delayed claims on the chosen node. */
export function volumeDecisions(ctx: CycleContext, node: string): VolumeDecision[] {
  const st = ctx.state.get(STATE) as Claims | undefined;
  return st?.decisions.get(node) ?? [];
}
