// The scheduler's vocabulary: plugin statuses, per-pod and per-node precomputed facts (PodInfo,
// NodeInfo), and the plugin interface the framework runs. Everything here is pure data; nothing
// talks to the API.

import type { Node, Pod, PodAffinityTerm, Container } from './k8s.ts';
import { selectorFromObject, type LabelSelector, type LabelSelectorObject } from '../api/labels.ts';
import { intValue, milliValue } from './quantity.ts';

export const MAX_NODE_SCORE = 100;
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** Upstream's status codes, reduced to those the default profile produces. */
export type Code = 'Success' | 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'Error' | 'Skip';

export interface Status {
  code: Code;
  /** One or more reasons; the FailedScheduling message counts nodes per reason. */
  reasons: string[];
  plugin?: string;
}

export const unschedulable = (...reasons: string[]): Status => ({ code: 'Unschedulable', reasons });
export const unresolvable = (...reasons: string[]): Status => ({ code: 'UnschedulableAndUnresolvable', reasons });
export const skip: Status = { code: 'Skip', reasons: [] };

// --- resources

export interface Resources {
  milliCpu: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended resources, hugepages-*: everything but cpu/memory/ephemeral-storage/pods. */
  scalar: Map<string, number>;
}

export const emptyResources = (): Resources => ({ milliCpu: 0, memory: 0, ephemeralStorage: 0, scalar: new Map() });

type ResourceMap = Map<string, number>;

function quantityOf(name: string, q: string | number): number {
  return name === 'cpu' ? milliValue(q) : intValue(q);
}

/**
 * A container's requests; a resource with only a limit counts the limit, which is what the API
 * server's defaulting would have stored as the request.
 */
function containerRequests(c: Container): ResourceMap {
  const out: ResourceMap = new Map();
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  for (const [k, v] of Object.entries(lim)) out.set(k, quantityOf(k, v));
  for (const [k, v] of Object.entries(req)) out.set(k, quantityOf(k, v));
  return out;
}

/** Scoring treats a container without a cpu/memory request as asking for 100m / 200Mi. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

function withNonZeroDefaults(m: ResourceMap): ResourceMap {
  const out: ResourceMap = new Map([['cpu', m.get('cpu') ?? DEFAULT_MILLI_CPU_REQUEST], ['memory', m.get('memory') ?? DEFAULT_MEMORY_REQUEST]]);
  return out;
}

function addInto(dst: ResourceMap, src: ResourceMap): void {
  for (const [k, v] of src) dst.set(k, (dst.get(k) ?? 0) + v);
}

function maxInto(dst: ResourceMap, src: ResourceMap): void {
  for (const [k, v] of src) if (v > (dst.get(k) ?? 0)) dst.set(k, v);
}

/**
 * The pod's effective request the way upstream counts it: regular containers plus sidecars
 * (restartable init containers) run together; each ordinary init container runs alone next to
 * the sidecars started before it; the pod needs the larger of the two; overhead comes on top.
 */
export function podRequests(pod: Pod, nonZero: boolean): ResourceMap {
  const reqs: ResourceMap = new Map();
  const per = (c: Container) => (nonZero ? withNonZeroDefaults(containerRequests(c)) : containerRequests(c));
  for (const c of pod.spec?.containers ?? []) addInto(reqs, per(c));
  const sidecars: ResourceMap = new Map();
  const initMax: ResourceMap = new Map();
  for (const c of pod.spec?.initContainers ?? []) {
    const r = per(c);
    if (c.restartPolicy === 'Always') {
      addInto(reqs, r);
      addInto(sidecars, r);
      maxInto(initMax, sidecars);
    } else {
      const running = new Map(sidecars);
      addInto(running, r);
      maxInto(initMax, running);
    }
  }
  maxInto(reqs, initMax);
  for (const [k, v] of Object.entries(pod.spec?.overhead ?? {})) reqs.set(k, (reqs.get(k) ?? 0) + quantityOf(k, v));
  return reqs;
}

export function toResources(m: ResourceMap | Record<string, string | number> | undefined): Resources {
  const r = emptyResources();
  const entries: Iterable<[string, string | number]> = m instanceof Map ? m : Object.entries(m ?? {});
  const parsed = !(m instanceof Map);
  for (const [k, raw] of entries) {
    const v = parsed ? quantityOf(k, raw) : (raw as number);
    if (k === 'cpu') r.milliCpu = v;
    else if (k === 'memory') r.memory = v;
    else if (k === 'ephemeral-storage') r.ephemeralStorage = v;
    else if (k !== 'pods') r.scalar.set(k, v);
  }
  return r;
}

// --- pods

/** A pod affinity term with its selectors compiled. */
export interface AffinityTerm {
  topologyKey: string;
  selector: LabelSelector;
  namespaces: Set<string>;
  /** Undefined: only `namespaces` count. */
  namespaceSelector?: LabelSelector;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

export type NamespaceLabels = (namespace: string) => Record<string, string> | undefined;

export function termMatches(term: AffinityTerm, pod: Pod, nsLabels: NamespaceLabels): boolean {
  const ns = pod.metadata?.namespace ?? 'default';
  const inNs = term.namespaces.has(ns) || (term.namespaceSelector !== undefined && term.namespaceSelector.matches(nsLabels(ns)));
  return inNs && term.selector.matches(pod.metadata?.labels);
}

function compileTerm(pod: Pod, t: PodAffinityTerm): AffinityTerm {
  const ns = pod.metadata?.namespace ?? 'default';
  const namespaces = new Set(t.namespaces ?? []);
  // No namespaces and no namespaceSelector means "the pod's own namespace"; an empty
  // namespaceSelector ({}) means every namespace.
  if (namespaces.size === 0 && !t.namespaceSelector) namespaces.add(ns);
  let selector = selectorFromObject(t.labelSelector as LabelSelectorObject | undefined);
  // matchLabelKeys / mismatchLabelKeys fold the incoming pod's own label values into the selector.
  const labels = pod.metadata?.labels ?? {};
  const extra: LabelSelectorObject = { matchExpressions: [] };
  for (const k of (t as { matchLabelKeys?: string[] }).matchLabelKeys ?? []) if (k in labels) extra.matchExpressions!.push({ key: k, operator: 'In', values: [labels[k]!] });
  for (const k of (t as { mismatchLabelKeys?: string[] }).mismatchLabelKeys ?? []) if (k in labels) extra.matchExpressions!.push({ key: k, operator: 'NotIn', values: [labels[k]!] });
  if (t.labelSelector && extra.matchExpressions!.length > 0) {
    const sel = t.labelSelector as LabelSelectorObject;
    selector = selectorFromObject({ matchLabels: sel.matchLabels ?? {}, matchExpressions: [...(sel.matchExpressions ?? []), ...extra.matchExpressions!] });
  }
  const term: AffinityTerm = { topologyKey: t.topologyKey, selector, namespaces };
  if (t.namespaceSelector) term.namespaceSelector = selectorFromObject(t.namespaceSelector as LabelSelectorObject);
  return term;
}

export interface PodInfo {
  pod: Pod;
  /** uid, or namespace/name when the object has no uid (tests). */
  key: string;
  namespace: string;
  name: string;
  priority: number;
  requests: Resources;
  /** Requests with the 100m/200Mi defaults, used by LeastAllocated. */
  nonZeroRequests: Resources;
  requiredAffinityTerms: AffinityTerm[];
  requiredAntiAffinityTerms: AffinityTerm[];
  preferredAffinityTerms: WeightedAffinityTerm[];
  preferredAntiAffinityTerms: WeightedAffinityTerm[];
  hostPorts: HostPort[];
}

export function podKey(pod: Pod): string {
  return pod.metadata?.uid || `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`;
}

export function newPodInfo(pod: Pod, priority = pod.spec?.priority ?? 0): PodInfo {
  const aff = pod.spec?.affinity;
  const hostPorts: HostPort[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.hostPort && p.hostPort > 0) hostPorts.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
    }
  }
  const weighted = (ts: { weight: number; podAffinityTerm: PodAffinityTerm }[] | undefined) =>
    (ts ?? []).map((w) => ({ ...compileTerm(pod, w.podAffinityTerm), weight: w.weight }));
  return {
    pod,
    key: podKey(pod),
    namespace: pod.metadata?.namespace ?? 'default',
    name: pod.metadata?.name ?? '',
    priority,
    requests: toResources(podRequests(pod, false)),
    nonZeroRequests: toResources(podRequests(pod, true)),
    requiredAffinityTerms: (aff?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => compileTerm(pod, t)),
    requiredAntiAffinityTerms: (aff?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => compileTerm(pod, t)),
    preferredAffinityTerms: weighted(aff?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    preferredAntiAffinityTerms: weighted(aff?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    hostPorts,
  };
}

export const hasAffinity = (p: PodInfo): boolean =>
  p.requiredAffinityTerms.length + p.requiredAntiAffinityTerms.length + p.preferredAffinityTerms.length + p.preferredAntiAffinityTerms.length > 0;

// --- nodes

/** A node with the pods on it and running totals, kept incrementally by the cache. */
export class NodeInfo {
  readonly pods: PodInfo[] = [];
  readonly requested: Resources = emptyResources();
  readonly nonZeroRequested: Resources = emptyResources();
  allocatable: Resources = emptyResources();
  allowedPods = 0;
  readonly usedPorts: HostPort[] = [];
  podsWithAffinity = 0;
  podsWithRequiredAntiAffinity = 0;
  /** Pods with any affinity term (what InterPodAffinity scoring reads when the pod has none). */
  readonly affinityPods: PodInfo[] = [];
  /** Bumped on every pod change. */
  generation = 0;
  /**
   * "namespace|selector" → live pods on this node matching the selector, kept exact on every pod
   * change (spreading asks the same few workload selectors on every cycle).
   */
  readonly matchCounts = new Map<string, { selector: LabelSelector; namespace: string; count: number }>();
  /** Image name as the node reports it → size in bytes. */
  images = new Map<string, number>();

  constructor(public node: Node | undefined) {
    if (node) this.setNode(node);
  }

  get name(): string {
    return this.node?.metadata?.name ?? '';
  }

  get labels(): Record<string, string> {
    return this.node?.metadata?.labels ?? {};
  }

  setNode(node: Node): void {
    this.node = node;
    // Upstream reads allocatable only; a node that reports just capacity (some fakes) is read
    // through capacity so it is not seen as empty.
    const alloc = node.status?.allocatable ?? node.status?.capacity ?? {};
    this.allocatable = toResources(alloc);
    this.allowedPods = intValue(alloc.pods ?? 0);
    this.images = new Map();
    for (const img of node.status?.images ?? []) {
      for (const n of img.names ?? []) this.images.set(n, img.sizeBytes ?? 0);
    }
  }

  addPod(p: PodInfo): void {
    this.pods.push(p);
    this.account(p, 1);
  }

  removePod(key: string): PodInfo | undefined {
    const i = this.pods.findIndex((p) => p.key === key);
    if (i < 0) return undefined;
    const [p] = this.pods.splice(i, 1);
    this.account(p!, -1);
    return p;
  }

  private account(p: PodInfo, sign: 1 | -1): void {
    this.generation++;
    if (this.matchCounts.size > 0 && !p.pod.metadata?.deletionTimestamp) {
      for (const e of this.matchCounts.values()) {
        if (e.namespace === p.namespace && e.selector.matches(p.pod.metadata?.labels)) e.count += sign;
      }
    }
    if (hasAffinity(p)) {
      if (sign > 0) this.affinityPods.push(p);
      else {
        const i = this.affinityPods.indexOf(p);
        if (i >= 0) this.affinityPods.splice(i, 1);
      }
    }
    addResources(this.requested, p.requests, sign);
    this.nonZeroRequested.milliCpu += sign * p.nonZeroRequests.milliCpu;
    this.nonZeroRequested.memory += sign * p.nonZeroRequests.memory;
    if (hasAffinity(p)) this.podsWithAffinity += sign;
    if (p.requiredAntiAffinityTerms.length > 0) this.podsWithRequiredAntiAffinity += sign;
    for (const hp of p.hostPorts) {
      if (sign > 0) this.usedPorts.push(hp);
      else {
        const i = this.usedPorts.findIndex((u) => u.ip === hp.ip && u.port === hp.port && u.protocol === hp.protocol);
        if (i >= 0) this.usedPorts.splice(i, 1);
      }
    }
  }

  /** A copy whose pod list and totals can be changed (preemption dry runs). */
  clone(): NodeInfo {
    const c = new NodeInfo(undefined);
    c.node = this.node;
    c.allocatable = this.allocatable;
    c.allowedPods = this.allowedPods;
    c.images = this.images;
    for (const p of this.pods) c.addPod(p);
    return c;
  }
}

export function addResources(dst: Resources, src: Resources, sign: 1 | -1 = 1): void {
  dst.milliCpu += sign * src.milliCpu;
  dst.memory += sign * src.memory;
  dst.ephemeralStorage += sign * src.ephemeralStorage;
  for (const [k, v] of src.scalar) dst.scalar.set(k, (dst.scalar.get(k) ?? 0) + sign * v);
}

/**
 * Upstream's only normalization: an image without a tag or digest means ":latest". Node status
 * names are taken as reported; "nginx" and "docker.io/library/nginx" stay different images.
 */
export function normalizeImageName(name: string): string {
  return name.lastIndexOf(':') <= name.lastIndexOf('/') ? `${name}:latest` : name;
}

// --- the snapshot the framework reads

export interface ClusterSnapshot {
  /** Every schedulable-or-not node, in a stable order. */
  nodes(): NodeInfo[];
  node(name: string): NodeInfo | undefined;
  /** How many nodes have the (normalized) image, for ImageLocality's spread factor. */
  imageNodeCount(image: string): number;
  namespaceLabels: NamespaceLabels;
  pvc(namespace: string, name: string): PersistentVolumeClaimLike | undefined;
  pv(name: string): PersistentVolumeLike | undefined;
  pvs(): PersistentVolumeLike[];
  storageClass(name: string): StorageClassLike | undefined;
  /** Workload objects whose selectors feed the default topology spread constraints. */
  spreadSelectorsFor(pod: Pod): LabelSelector[];
  /** Pods nominated (by preemption) to run on the node, not yet bound. */
  nominatedPods(node: string): PodInfo[];
  /** Keys of pods that use the claim namespace/name, for ReadWriteOncePod. */
  claimUsers(namespace: string, claim: string): number;
}

export type { PersistentVolumeClaim as PersistentVolumeClaimLike, PersistentVolume as PersistentVolumeLike } from './k8s.ts';
export type { StorageClass as StorageClassLike } from './k8s.ts';
import type { PersistentVolumeClaim as PersistentVolumeClaimLike, PersistentVolume as PersistentVolumeLike } from './k8s.ts';
import type { StorageClass as StorageClassLike } from './k8s.ts';

// --- plugins

export interface CycleContext {
  snapshot: ClusterSnapshot;
  /** Per-cycle scratch space, keyed by plugin name. */
  state: Map<string, unknown>;
  pod: PodInfo;
}

export interface PreFilterOutcome {
  status?: Status;
  /** Only these nodes can pass (NodeAffinity's matchFields on metadata.name). */
  nodeNames?: Set<string>;
}

export interface NodeScore {
  node: NodeInfo;
  score: number;
}

export interface Plugin {
  name: string;
  /** Upstream default weight for score plugins. */
  weight?: number;
  preFilter?(ctx: CycleContext): PreFilterOutcome | undefined;
  filter?(ctx: CycleContext, node: NodeInfo): Status | undefined;
  /** Skip status turns this plugin's scoring off for the cycle. */
  preScore?(ctx: CycleContext, feasible: NodeInfo[]): Status | undefined;
  score?(ctx: CycleContext, node: NodeInfo): number;
  normalizeScore?(ctx: CycleContext, scores: NodeScore[]): void;
}
