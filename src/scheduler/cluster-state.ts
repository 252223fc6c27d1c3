// The scheduler's cache: nodes with the pods on them (bound and assumed) and the volume, namespace
// and workload objects plugins read, kept up to date incrementally from informer events. It is the
// ClusterSnapshot the framework reads; the event loop is single-threaded, so a synchronous
// scheduling cycle sees one consistent state without copying anything.

import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from './k8s.ts';
import type { StorageClass } from './k8s.ts';
import { selectorFromObject, selectorFromRequirements, type LabelSelector, type LabelSelectorObject } from '../api/labels.ts';
import { podClaimNames } from './plugins/volume-binding.ts';
import { NodeInfo, newPodInfo, type ClusterSnapshot, type PodInfo } from './types.ts';

/** Workload kinds whose selectors feed the default spreading, as upstream's DefaultSelector. */
export type WorkloadKind = 'Service' | 'ReplicationController' | 'ReplicaSet' | 'StatefulSet';

interface Workload {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  /** Services and RCs: label maps; ReplicaSets and StatefulSets: LabelSelector objects. */
  selector: LabelSelector;
  /** A Service with no selector never matches anything. */
  hasSelector: boolean;
}

const noPods: PodInfo[] = [];
const nsName = (ns: string | undefined, name: string | undefined) => `${ns ?? ''}/${name ?? ''}`;

export class ClusterState implements ClusterSnapshot {
  private readonly infos = new Map<string, NodeInfo>();
  private ordered: NodeInfo[] | undefined;
  private readonly podNode = new Map<string, string>();
  private readonly imageNodes = new Map<string, number>();
  private readonly claimUse = new Map<string, number>();
  private readonly claims = new Map<string, PersistentVolumeClaim>();
  private readonly volumes = new Map<string, PersistentVolume>();
  private volumeList: PersistentVolume[] | undefined;
  private readonly classes = new Map<string, StorageClass>();
  private readonly namespaces = new Map<string, Record<string, string>>();
  private readonly workloads = new Map<string, Workload>();
  private readonly nominated = new Map<string, Map<string, PodInfo>>();
  private readonly nominatedNodeOf = new Map<string, string>();

  // --- ClusterSnapshot

  nodes(): NodeInfo[] {
    if (!this.ordered) this.ordered = [...this.infos.values()].filter((n) => n.node !== undefined).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return this.ordered;
  }

  node(name: string): NodeInfo | undefined {
    const n = this.infos.get(name);
    return n?.node ? n : undefined;
  }

  imageNodeCount(image: string): number {
    return this.imageNodes.get(image) ?? 0;
  }

  readonly namespaceLabels = (ns: string): Record<string, string> | undefined => this.namespaces.get(ns);

  pvc(namespace: string, name: string): PersistentVolumeClaim | undefined {
    return this.claims.get(nsName(namespace, name));
  }

  pv(name: string): PersistentVolume | undefined {
    return this.volumes.get(name);
  }

  pvs(): PersistentVolume[] {
    this.volumeList ??= [...this.volumes.values()];
    return this.volumeList;
  }

  storageClass(name: string): StorageClass | undefined {
    return this.classes.get(name);
  }

  claimUsers(namespace: string, claim: string): number {
    return this.claimUse.get(nsName(namespace, claim)) ?? 0;
  }

  spreadSelectorsFor(pod: Pod): LabelSelector[] {
    const ns = pod.metadata?.namespace ?? 'default';
    const labels = pod.metadata?.labels ?? {};
    const out: LabelSelector[] = [];
    for (const w of this.workloads.values()) {
      if (w.kind !== 'Service' || w.namespace !== ns || !w.hasSelector) continue;
      if (w.selector.matches(labels) && !w.selector.empty) out.push(w.selector);
    }
    const owner = pod.metadata?.ownerReferences?.find((r) => r.controller);
    if (owner) {
      const group = owner.apiVersion.includes('/') ? owner.apiVersion.split('/')[0] : '';
      const known = (owner.kind === 'ReplicationController' && group === '') || ((owner.kind === 'ReplicaSet' || owner.kind === 'StatefulSet') && group === 'apps');
      const w = known ? this.workloads.get(`${owner.kind}/${ns}/${owner.name}`) : undefined;
      if (w && !w.selector.empty) out.push(w.selector);
    }
    return out;
  }

  nominatedPods(node: string): PodInfo[] {
    const m = this.nominated.get(node);
    return m && m.size > 0 ? [...m.values()] : noPods;
  }

  // --- updates

  setNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    let info = this.infos.get(name);
    if (info?.node) this.countImages(info, -1);
    if (!info) {
      info = new NodeInfo(node);
      this.infos.set(name, info);
    } else info.setNode(node);
    this.countImages(info, 1);
    this.ordered = undefined;
  }

  deleteNode(name: string): void {
    const info = this.infos.get(name);
    if (!info) return;
    if (info.node) this.countImages(info, -1);
    // Pods still bound there stay accounted on a node-less entry until they go too, as upstream.
    if (info.pods.length > 0) info.node = undefined;
    else this.infos.delete(name);
    this.ordered = undefined;
  }

  private countImages(info: NodeInfo, sign: 1 | -1): void {
    for (const name of info.images.keys()) {
      const n = (this.imageNodes.get(name) ?? 0) + sign;
      if (n <= 0) this.imageNodes.delete(name);
      else this.imageNodes.set(name, n);
    }
  }

  /** Where the pod is counted, if anywhere. */
  nodeOf(key: string): string | undefined {
    return this.podNode.get(key);
  }

  /** Count a pod on a node (bound, or assumed while its binding is in flight). */
  addPod(p: PodInfo, nodeName: string): void {
    if (this.podNode.has(p.key)) this.removePod(p.key);
    let info = this.infos.get(nodeName);
    if (!info) {
      info = new NodeInfo(undefined);
      this.infos.set(nodeName, info);
    }
    info.addPod(p);
    this.podNode.set(p.key, nodeName);
    for (const c of podClaimNames(p.pod)) this.bumpClaim(p.namespace, c, 1);
  }

  removePod(key: string): PodInfo | undefined {
    const nodeName = this.podNode.get(key);
    if (nodeName === undefined) return undefined;
    this.podNode.delete(key);
    const info = this.infos.get(nodeName);
    const p = info?.removePod(key);
    if (info && !info.node && info.pods.length === 0) this.infos.delete(nodeName);
    if (p) for (const c of podClaimNames(p.pod)) this.bumpClaim(p.namespace, c, -1);
    return p;
  }

  private bumpClaim(ns: string, claim: string, by: number): void {
    const k = nsName(ns, claim);
    const n = (this.claimUse.get(k) ?? 0) + by;
    if (n <= 0) this.claimUse.delete(k);
    else this.claimUse.set(k, n);
  }

  /** Record that preemption reserved room on a node for the pod. */
  nominate(p: PodInfo, node: string): void {
    this.clearNomination(p.key);
    let m = this.nominated.get(node);
    if (!m) this.nominated.set(node, (m = new Map()));
    m.set(p.key, p);
    this.nominatedNodeOf.set(p.key, node);
  }

  clearNomination(key: string): void {
    const node = this.nominatedNodeOf.get(key);
    if (node === undefined) return;
    this.nominatedNodeOf.delete(key);
    this.nominated.get(node)?.delete(key);
  }

  setPVC(c: PersistentVolumeClaim): void {
    this.claims.set(nsName(c.metadata?.namespace, c.metadata?.name), c);
  }
  deletePVC(c: PersistentVolumeClaim): void {
    this.claims.delete(nsName(c.metadata?.namespace, c.metadata?.name));
  }
  setPV(v: PersistentVolume): void {
    this.volumes.set(v.metadata?.name ?? '', v);
    this.volumeList = undefined;
  }
  deletePV(v: PersistentVolume): void {
    this.volumes.delete(v.metadata?.name ?? '');
    this.volumeList = undefined;
  }
  setStorageClass(c: StorageClass): void {
    this.classes.set(c.metadata?.name ?? '', c);
  }
  deleteStorageClass(c: StorageClass): void {
    this.classes.delete(c.metadata?.name ?? '');
  }
  setNamespace(name: string, labels: Record<string, string> | undefined): void {
    this.namespaces.set(name, labels ?? {});
  }
  deleteNamespace(name: string): void {
    this.namespaces.delete(name);
  }

  setWorkload(kind: WorkloadKind, obj: { metadata?: { namespace?: string; name?: string }; spec?: unknown }): void {
    const spec = (obj.spec ?? {}) as { selector?: unknown };
    const raw = spec.selector;
    let selector: LabelSelector;
    let hasSelector = raw !== undefined && raw !== null;
    if (kind === 'Service' || kind === 'ReplicationController') {
      const set = (raw ?? {}) as Record<string, string>;
      selector = selectorFromRequirements(Object.entries(set).map(([key, v]) => ({ key, operator: '=' as const, values: [v] })));
    } else {
      try {
        selector = selectorFromObject(raw as LabelSelectorObject | undefined);
      } catch {
        selector = selectorFromObject(undefined);
        hasSelector = false;
      }
    }
    const ns = obj.metadata?.namespace ?? 'default';
    const name = obj.metadata?.name ?? '';
    this.workloads.set(`${kind}/${ns}/${name}`, { kind, namespace: ns, name, selector, hasSelector });
  }

  deleteWorkload(kind: WorkloadKind, obj: { metadata?: { namespace?: string; name?: string } }): void {
    this.workloads.delete(`${kind}/${obj.metadata?.namespace ?? 'default'}/${obj.metadata?.name ?? ''}`);
  }
}

/** A view of a snapshot with some nodes replaced by modified copies (preemption dry runs). */
export class OverlaySnapshot implements ClusterSnapshot {
  private list: NodeInfo[] | undefined;
  constructor(
    private readonly base: ClusterSnapshot,
    private readonly replaced: ReadonlyMap<string, NodeInfo>,
  ) {}
  nodes(): NodeInfo[] {
    this.list ??= this.base.nodes().map((n) => this.replaced.get(n.name) ?? n);
    return this.list;
  }
  node(name: string): NodeInfo | undefined {
    return this.replaced.get(name) ?? this.base.node(name);
  }
  imageNodeCount(image: string): number {
    return this.base.imageNodeCount(image);
  }
  get namespaceLabels() {
    return this.base.namespaceLabels;
  }
  pvc(ns: string, name: string) {
    return this.base.pvc(ns, name);
  }
  pv(name: string) {
    return this.base.pv(name);
  }
  pvs() {
    return this.base.pvs();
  }
  storageClass(name: string) {
    return this.base.storageClass(name);
  }
  spreadSelectorsFor(pod: Pod) {
    return this.base.spreadSelectorsFor(pod);
  }
  nominatedPods(node: string) {
    return this.base.nominatedPods(node);
  }
  claimUsers(ns: string, claim: string) {
    return this.base.claimUsers(ns, claim);
  }
}

/** A state built in one go from plain objects, for tests, benchmarks and one-off decisions. */
export function buildState(input: {
  nodes: Node[];
  pods?: Pod[];
  pvcs?: PersistentVolumeClaim[];
  pvs?: PersistentVolume[];
  storageClasses?: StorageClass[];
  namespaces?: Record<string, Record<string, string>>;
  workloads?: { kind: WorkloadKind; obj: { metadata?: { namespace?: string; name?: string }; spec?: unknown } }[];
  podInfo?: (pod: Pod) => PodInfo;
}): ClusterState {
  const info = input.podInfo ?? ((p: Pod) => newPodInfo(p));
  const s = new ClusterState();
  for (const n of input.nodes) s.setNode(n);
  for (const p of input.pods ?? []) if (p.spec?.nodeName) s.addPod(info(p), p.spec.nodeName);
  for (const c of input.pvcs ?? []) s.setPVC(c);
  for (const v of input.pvs ?? []) s.setPV(v);
  for (const c of input.storageClasses ?? []) s.setStorageClass(c);
  for (const [ns, labels] of Object.entries(input.namespaces ?? {})) s.setNamespace(ns, labels);
  for (const w of input.workloads ?? []) s.setWorkload(w.kind, w.obj);
  return s;
}
