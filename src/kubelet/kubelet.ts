// The kubelet: watches the pods bound to its node and drives each one, serialized per pod uid,
// towards its spec on a NodeRuntime — sandbox with a stable IP, volumes, init containers, app
// containers with restart policy and back-off, probes, hooks, graceful termination — and reports
// status through pods/status. Its only memory that matters is the runtime's labels: after a
// restart it adopts what runs, recreates what stopped and removes what no pod owns.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rfc3339 } from '../api/meta.ts';
import { Informer } from '../client/informer.ts';
import { SharedInformers } from '../client/shared-informers.ts';
import { ClientError, isConflict, isNotFound, type Client, type KubeObject, type ResourceRef } from '../client/types.ts';
import { EventRecorder, type EventType } from '../controller/events.ts';
import { ImagePullError, type ContainerConfig, type ContainerStatus, type NodeRuntime } from '../runtime/types.ts';
import { logger } from '../util/log.ts';
import { runExec, runHttpGet, runSleep, type ActionTarget } from './actions.ts';
import { Backoff, systemClock, type Clock } from './backoff.ts';
import { containerHash, containerResources, podHostname, portMappings, pullPolicyFor, securityConfig } from './container-config.ts';
import { parseResolvConf, podDnsConfig } from './dns.ts';
import { ContainerConfigError, expandCommand, resolveEnv, type PodRuntimeFacts } from './env.ts';
import { readHostFacts, type HostFacts } from './host.ts';
import { PodIPAllocator } from './ipam.ts';
import type { ConfigMap, Container, LifecycleHandler, PersistentVolume, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount } from './k8s.ts';
import { NodeStatusManager } from './node-status.ts';
import { buildPodStatus, type ObservedContainer, type Waiting } from './pod-status.ts';
import { ProbeManager, probeFailureMessage } from './probes.ts';
import { containerMounts, podDir, setupVolumes, VolumeError, withServiceAccountVolume, type VolumeSources } from './volumes.ts';

const log = logger('kubelet');

export const podsRef: ResourceRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };
const configMapsRef: ResourceRef = { group: '', version: 'v1', resource: 'configmaps', namespaced: true };
const secretsRef: ResourceRef = { group: '', version: 'v1', resource: 'secrets', namespaced: true };
const servicesRef: ResourceRef = { group: '', version: 'v1', resource: 'services', namespaced: true };
const serviceAccountsRef: ResourceRef = { group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true };
const pvcRef: ResourceRef = { group: '', version: 'v1', resource: 'persistentvolumeclaims', namespaced: true };
const pvRef: ResourceRef = { group: '', version: 'v1', resource: 'persistentvolumes', namespaced: false };

/** Label on every sandbox/container this kubelet makes: several nodes may share one engine. */
export const NODE_LABEL = 'nanokube.node';

export interface KubeletOptions {
  client: Client;
  runtime: NodeRuntime;
  nodeName: string;
  /** This node's pod CIDR, e.g. 10.42.0.0/24 (10.42.N.0/24 for extra nodes). */
  podCIDR: string;
  /** The kubelet's own directory: pod volumes under pods/<uid>, IP allocations in ipam.json. */
  dataDir: string;
  clusterName: string;
  clusterDNS?: string[];
  clusterDomain?: string;
  signal: AbortSignal;
  /** Port advertised in status.daemonEndpoints (the streaming server listens there). */
  kubeletPort?: number;
  controlPlane?: boolean;
  nodeLabels?: Record<string, string>;
  maxPods?: number;
  /** Shared informers (simulated nodes in one process share one set); a private set otherwise. */
  informers?: SharedInformers;
  /** Host facts; simulated nodes pass fixed ones. */
  readHost?: () => Promise<HostFacts>;
  clock?: Clock;
  /** Back-off for restarts and pulls (upstream: 10 s doubling to 300 s). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Periodic re-sync of every pod (volume refresh, deadlines); default 30 s. */
  resyncIntervalMs?: number;
  nodeStatusIntervalMs?: number;
  leaseIntervalMs?: number;
  /** Grace for pod containers when the kubelet stops (nanokube stop); default 2 s. */
  stopGraceSeconds?: number;
  /** Cluster CA for ca.crt in token volumes until kube-root-ca.crt is published. */
  caPem?: string;
  /** Syncs running at once; default 16. */
  concurrency?: number;
}

interface PodState {
  uid: string;
  pod: Pod | undefined;
  /** Waiting reasons set by the last sync per container name. */
  waiting: Map<string, Waiting>;
  /** Last terminated instance per container name, kept when old instances are removed. */
  lastTerminated: Map<string, ContainerStatus>;
  startTime?: string;
  terminal?: { phase: 'Succeeded' | 'Failed'; reason?: string; message?: string };
  lastStatus?: string;
  podIP: string;
  sandboxReady: boolean;
  tokens: Map<string, { token: string; refreshAt: number }>;
  warned: Set<string>;
  // worker bookkeeping
  busy: boolean;
  again: boolean;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
  finished: boolean;
  /** restartCount for each container's next instance after a sandbox was recreated. */
  restartBase?: Map<string, number>;
  /** Containers whose last image pull failed (ImagePullBackOff applies). */
  lastPullFailed?: Set<string>;
}

interface RuntimeView {
  sandboxes: ContainerStatus[];
  containers: ContainerStatus[];
}

export class Kubelet {
  readonly nodeName: string;
  readonly nodeStatus: NodeStatusManager;
  readonly probes: ProbeManager;
  private readonly client: Client;
  private readonly runtime: NodeRuntime;
  private readonly informers: SharedInformers;
  private readonly podInformer: Informer<KubeObject>;
  private readonly configMaps: Informer<KubeObject>;
  private readonly secrets: Informer<KubeObject>;
  private readonly services: Informer<KubeObject>;
  private readonly recorder: EventRecorder;
  private readonly ipam: PodIPAllocator | undefined;
  private readonly states = new Map<string, PodState>();
  private readonly backoff: Backoff;
  private readonly clock: Clock;
  private readonly ac = new AbortController();
  private runtimeName = 'docker';
  private hostResolv: ReturnType<typeof parseResolvConf> | undefined;
  private running = 0;
  private readonly queue: Array<() => void> = [];
  private started = false;
  private stopped = false;
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly opts: KubeletOptions) {
    this.nodeName = opts.nodeName;
    this.client = opts.client;
    this.runtime = opts.runtime;
    this.clock = opts.clock ?? systemClock;
    this.backoff = new Backoff(this.clock, opts.backoffInitialMs ?? 10_000, opts.backoffMaxMs ?? 300_000);
    this.informers = opts.informers ?? new SharedInformers(opts.client);
    // Pods are per node (field selector); the rest is shared by every kubelet of the process.
    this.podInformer = new Informer<KubeObject>(opts.client, podsRef, { fieldSelector: `spec.nodeName=${opts.nodeName}` });
    this.configMaps = this.informers.informerFor(configMapsRef);
    this.secrets = this.informers.informerFor(secretsRef);
    this.services = this.informers.informerFor(servicesRef);
    this.recorder = new EventRecorder(opts.client, 'kubelet', opts.nodeName);
    this.ipam = opts.podCIDR ? new PodIPAllocator(opts.podCIDR, join(opts.dataDir, 'ipam.json')) : undefined;
    this.nodeStatus = new NodeStatusManager({
      client: opts.client,
      runtime: opts.runtime,
      identity: {
        nodeName: opts.nodeName,
        podCIDR: opts.podCIDR,
        kubeletPort: opts.kubeletPort ?? 10250,
        controlPlane: opts.controlPlane ?? false,
        maxPods: opts.maxPods ?? 110,
        ...(opts.nodeLabels ? { labels: opts.nodeLabels } : {}),
      },
      readHost: opts.readHost ?? (() => readHostFacts(opts.dataDir)),
      recorder: this.recorder,
      now: () => this.clock.now(),
      ...(opts.nodeStatusIntervalMs ? { statusIntervalMs: opts.nodeStatusIntervalMs } : {}),
      ...(opts.leaseIntervalMs ? { leaseIntervalMs: opts.leaseIntervalMs } : {}),
    });
    this.probes = new ProbeManager({
      changed: (uid) => this.enqueue(uid),
      failed: (pod, name, kind, output) => this.event(pod, 'Warning', 'Unhealthy', probeFailureMessage(kind, output), name),
    });
    opts.signal.addEventListener('abort', () => void this.stop(), { once: true });
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** Registers the node, syncs caches, rebuilds state from the runtime and starts the pod workers. */
  async start(): Promise<void> {
    const signal = this.ac.signal;
    const version = await this.runtime.version();
    this.runtimeName = version.runtimeName;
    this.hostResolv = await readFile('/etc/resolv.conf', 'utf8').then(parseResolvConf, () => undefined);
    await this.ipam?.load();
    await this.nodeStatus.register();
    this.nodeStatus.run(signal);
    this.informers.start(signal);
    void this.podInformer.run(signal);
    await Promise.all([this.podInformer.waitForSync(signal), this.configMaps.waitForSync(signal), this.secrets.waitForSync(signal), this.services.waitForSync(signal)]);
    await this.rebuild();
    this.podInformer.addHandlers({
      onAdd: (p) => this.observe(p as Pod),
      onUpdate: (_o, p) => this.observe(p as Pod),
      onDelete: (p) => this.forgetPod(p as Pod),
    });
    // Content volumes follow their objects; env does not (upstream: env is fixed at container start).
    const touch = (o: KubeObject) => this.enqueueNamespace(o.metadata.namespace ?? '');
    this.configMaps.addHandlers({ onUpdate: (_o, n) => touch(n), onAdd: touch });
    this.secrets.addHandlers({ onUpdate: (_o, n) => touch(n), onAdd: touch });
    void this.watchRuntime(signal);
    const resync = setInterval(() => {
      for (const uid of this.states.keys()) this.enqueue(uid);
      void this.sweepOrphans().catch((err: unknown) => log.warn('orphan sweep failed', { error: err }));
    }, this.opts.resyncIntervalMs ?? 30_000);
    resync.unref?.();
    signal.addEventListener('abort', () => clearInterval(resync), { once: true });
    this.started = true;
  }

  /**
   * Stops the kubelet. By default pod containers are stopped too (a `nanokube stop` stops
   * everything; the next start recreates sandboxes and restarts containers with restartCount+1,
   * as a node reboot does upstream). keepContainers leaves them running, as a kubelet crash would.
   */
  async stop(opts: { keepContainers?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ac.abort();
    for (const st of this.states.values()) clearTimeout(st.timer);
    this.probes.stopAll();
    // Syncs in flight finish their current runtime call; bounded by their own timeouts.
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 10_000).unref())]);
    if (opts.keepContainers || !this.started) return;
    const grace = this.opts.stopGraceSeconds ?? 2;
    const view = await this.runtimeView().catch(() => ({ sandboxes: [], containers: [] }) as RuntimeView);
    await Promise.allSettled(view.containers.filter((c) => c.state === 'running').map((c) => this.runtime.stopContainer(c.id, grace)));
    await Promise.allSettled(view.sandboxes.filter((s) => s.state === 'running').map((s) => this.runtime.stopSandbox(s.id)));
  }

  // ---- queueing ------------------------------------------------------------------------------

  private state(uid: string): PodState {
    let st = this.states.get(uid);
    if (!st) {
      st = {
        uid,
        pod: undefined,
        waiting: new Map(),
        lastTerminated: new Map(),
        podIP: '',
        sandboxReady: false,
        tokens: new Map(),
        warned: new Set(),
        busy: false,
        again: false,
        timer: undefined,
        timerAt: 0,
        finished: false,
      };
      this.states.set(uid, st);
    }
    return st;
  }

  private observe(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid || pod.spec?.nodeName !== this.nodeName) return;
    this.state(uid).pod = pod;
    this.enqueue(uid);
  }

  private forgetPod(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const st = this.state(uid);
    st.pod = undefined;
    this.enqueue(uid);
  }

  private enqueueNamespace(ns: string): void {
    for (const st of this.states.values()) if (st.pod?.metadata?.namespace === ns) this.enqueue(st.uid);
  }

  /** Asks for a sync of the pod now (or after delayMs); syncs of one pod never overlap. */
  enqueue(uid: string, delayMs = 0): void {
    if (this.ac.signal.aborted) return;
    const st = this.states.get(uid);
    if (!st || st.finished) return;
    if (delayMs > 0) {
      const at = Date.now() + delayMs;
      if (st.timer && st.timerAt <= at) return;
      clearTimeout(st.timer);
      st.timerAt = at;
      st.timer = setTimeout(() => {
        st.timer = undefined;
        this.enqueue(uid);
      }, delayMs);
      st.timer.unref?.();
      return;
    }
    if (st.busy) {
      st.again = true;
      return;
    }
    st.busy = true;
    const run = () => {
      const p = this.runSync(st).finally(() => {
        this.inflight.delete(p);
        this.running--;
        this.queue.shift()?.();
      });
      this.inflight.add(p);
    };
    this.running++;
    if (this.running > (this.opts.concurrency ?? 16)) this.queue.push(run);
    else run();
  }

  /** Re-syncs every known pod (tests move a fake clock, then call this). */
  resyncAll(): void {
    for (const uid of this.states.keys()) this.enqueue(uid);
  }

  private async runSync(st: PodState): Promise<void> {
    let requeue: number | undefined;
    try {
      st.again = false;
      requeue = await this.sync(st);
    } catch (err) {
      if (!this.ac.signal.aborted) {
        log.warn('pod sync failed; retrying', { pod: this.podName(st), error: err });
        requeue = 2000;
      }
    } finally {
      st.busy = false;
    }
    if (st.finished) {
      this.states.delete(st.uid);
      return;
    }
    if (st.again) this.enqueue(st.uid);
    else if (requeue !== undefined) this.enqueue(st.uid, requeue);
  }

  private podName(st: PodState): string {
    return st.pod ? `${st.pod.metadata?.namespace}/${st.pod.metadata?.name}` : st.uid;
  }

  // ---- runtime view --------------------------------------------------------------------------

  private ours = (c: ContainerStatus) => c.labels[NODE_LABEL] === this.nodeName;

  private async runtimeView(uid?: string): Promise<RuntimeView> {
    const filter = uid ? { podUid: uid } : undefined;
    const [sandboxes, containers] = await Promise.all([this.runtime.listSandboxes(filter), this.runtime.listContainers(filter)]);
    return { sandboxes: sandboxes.filter(this.ours), containers: containers.filter(this.ours) };
  }

  /** After a (re)start: keep IPs of live pods, remove what belongs to no pod, then sync everything. */
  private async rebuild(): Promise<void> {
    const pods = this.podInformer.list() as Pod[];
    const live = new Map<string, Pod>();
    for (const p of pods) if (p.metadata?.uid) live.set(p.metadata.uid, p);
    const view = await this.runtimeView();
    for (const s of [...view.sandboxes].sort((a, b) => a.attempt - b.attempt)) {
      const pod = live.get(s.pod.uid);
      const phase = pod?.status?.phase;
      if (pod && s.ip && phase !== 'Succeeded' && phase !== 'Failed') this.ipam?.reserve(s.pod.uid, s.ip);
    }
    for (const p of live.values()) {
      const ip = p.status?.podIP;
      // An IP already reported for a pod whose sandbox is gone is still its IP.
      if (ip && !this.ipam?.get(p.metadata!.uid!) && !p.spec?.hostNetwork && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed') this.ipam?.reserve(p.metadata!.uid!, ip);
    }
    await this.ipam?.retain(new Set(live.keys()));
    await this.removeOrphans(view, new Set(live.keys()));
    for (const p of live.values()) this.observe(p);
  }

  private async removeOrphans(view: RuntimeView, keep: ReadonlySet<string>): Promise<void> {
    const orphans = [...view.containers, ...view.sandboxes].filter((c) => !keep.has(c.pod.uid));
    if (!orphans.length) return;
    log.info('removing containers of pods that no longer exist', { count: orphans.length });
    await Promise.allSettled(orphans.filter((c) => c.kind === 'container').map((c) => this.runtime.removeContainer(c.id)));
    await Promise.allSettled(orphans.filter((c) => c.kind === 'sandbox').map((c) => this.runtime.removeSandbox(c.id)));
    for (const uid of new Set(orphans.map((o) => o.pod.uid))) await rm(podDir(this.opts.dataDir, uid), { recursive: true, force: true }).catch(() => {});
  }

  private async sweepOrphans(): Promise<void> {
    if (this.ac.signal.aborted) return;
    const view = await this.runtimeView();
    const keep = new Set<string>(this.states.keys());
    for (const p of this.podInformer.list()) if (p.metadata.uid) keep.add(p.metadata.uid);
    await this.removeOrphans(view, keep);
  }

  private async watchRuntime(signal: AbortSignal): Promise<void> {
    for (let attempt = 0; attempt < 1000 && !signal.aborted; attempt++) {
      try {
        for await (const ev of this.runtime.events(signal)) {
          if (ev.type === 'die' || ev.type === 'oom') if (this.states.has(ev.pod.uid)) this.enqueue(ev.pod.uid);
        }
      } catch (err) {
        if (signal.aborted) return;
        log.warn('runtime event stream broke; reconnecting', { error: err });
      }
      await new Promise((r) => setTimeout(r, 1000).unref());
    }
  }

  // ---- events ---------------------------------------------------------------------------------

  private event(pod: Pod, type: EventType, reason: string, message: string, containerName?: string): void {
    const target: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod.metadata?.name, namespace: pod.metadata?.namespace, uid: pod.metadata?.uid, resourceVersion: pod.metadata?.resourceVersion },
    };
    // involvedObject.fieldPath names the container, as upstream's container events do.
    if (containerName !== undefined) {
      const init = (pod.spec?.initContainers ?? []).some((c) => c.name === containerName);
      target.fieldPath = `spec.${init ? 'initContainers' : 'containers'}{${containerName}}`;
    }
    this.recorder.event(target, type, reason, message);
  }

  // ---- sources for env and volumes ------------------------------------------------------------

  private sources(): VolumeSources {
    const cached = <T>(inf: Informer<KubeObject>, ref: ResourceRef) => async (ns: string, name: string): Promise<T | undefined> => {
      const hit = inf.get(name, ns);
      if (hit) return hit as unknown as T;
      // The cache may lag a just-created object; ask the API before calling it missing.
      try {
        return (await this.client.get<KubeObject>(ref, name, ns)) as unknown as T;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    };
    const get = <T>(ref: ResourceRef) => async (ns: string | undefined, name: string): Promise<T | undefined> => {
      try {
        return (await this.client.get<KubeObject>(ref, name, ns)) as unknown as T;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    };
    return {
      configMap: cached<ConfigMap>(this.configMaps, configMapsRef),
      secret: cached<Secret>(this.secrets, secretsRef),
      services: (ns) => this.services.list((s) => s.metadata.namespace === ns) as unknown as Service[],
      pvc: (ns, name) => get<PersistentVolumeClaim>(pvcRef)(ns, name),
      pv: (name) => get<PersistentVolume>(pvRef)(undefined, name),
      token: (pod, audiences, seconds) => this.token(pod, audiences, seconds),
      ...(this.opts.caPem ? { fallbackCA: this.opts.caPem } : {}),
    };
  }

  private tokenUnavailable = false;

  /** A TokenRequest bound to the pod; cached until 80% of its life, as upstream's token manager does. */
  private async token(pod: Pod, audiences: string[], seconds: number): Promise<string | undefined> {
    if (this.tokenUnavailable) return undefined;
    const st = this.state(pod.metadata!.uid!);
    const key = `${audiences.join(',')}/${seconds}`;
    const cached = st.tokens.get(key);
    if (cached && cached.refreshAt > this.clock.now()) return cached.token;
    try {
      const res = await this.client.createSubresource<{ status?: { token?: string; expirationTimestamp?: string } }>(
        serviceAccountsRef,
        pod.spec?.serviceAccountName ?? 'default',
        'token',
        {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { audiences, expirationSeconds: seconds, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata?.name, uid: pod.metadata?.uid } },
        },
        pod.metadata?.namespace,
      );
      const token = res.status?.token;
      if (!token) return undefined;
      const exp = res.status?.expirationTimestamp ? Date.parse(res.status.expirationTimestamp) : this.clock.now() + seconds * 1000;
      const now = this.clock.now();
      st.tokens.set(key, { token, refreshAt: now + (exp - now) * 0.8 });
      return token;
    } catch (err) {
      if (err instanceof ClientError && (err.code === 405 || err.code === 404)) {
        // The API has no TokenRequest yet: pods run without a token file rather than not at all.
        this.tokenUnavailable = true;
        log.warn('serviceaccounts/token is not served; token files are left out of service account volumes', { code: err.code });
        return undefined;
      }
      throw err;
    }
  }

  private async saAutomount(pod: Pod): Promise<boolean | undefined> {
    if (pod.spec?.automountServiceAccountToken !== undefined) return pod.spec.automountServiceAccountToken;
    try {
      const sa = (await this.client.get<KubeObject>(serviceAccountsRef, pod.spec?.serviceAccountName ?? 'default', pod.metadata?.namespace)) as unknown as ServiceAccount;
      return sa.automountServiceAccountToken;
    } catch {
      return undefined;
    }
  }

  private facts(st: PodState, pod: Pod): PodRuntimeFacts {
    const hostIP = this.nodeStatus.internalIP;
    const podIP = pod.spec?.hostNetwork ? hostIP : st.podIP;
    return { hostIP, podIP, podIPs: podIP ? [podIP] : [], nodeAllocatable: this.nodeStatus.allocatable };
  }

  // ---- the pod sync ---------------------------------------------------------------------------

  /** One pass for one pod; returns when to look again (ms), if the pod needs a timed re-check. */
  private async sync(st: PodState): Promise<number | undefined> {
    const pod = st.pod;
    if (!pod) {
      await this.cleanupPod(st.uid);
      st.finished = true;
      return undefined;
    }
    if (pod.metadata?.deletionTimestamp) {
      await this.terminatePod(st, pod);
      return undefined;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      await this.ensurePodStopped(st, pod);
      return undefined;
    }
    return this.syncRunningPod(st, pod);
  }

  private network: Promise<unknown> | undefined;

  /** Once per kubelet: concurrent creations of one bridge make the engine refuse overlapping pools. */
  private ensureNetwork(ipam: PodIPAllocator): Promise<unknown> {
    this.network ??= this.runtime.ensureNetwork({ cidr: ipam.cidr, gateway: ipam.gateway }).catch((err: unknown) => {
      this.network = undefined;
      throw err;
    });
    return this.network;
  }

  private latestByName(containers: ContainerStatus[]): Map<string, ContainerStatus[]> {
    const by = new Map<string, ContainerStatus[]>();
    for (const c of containers) {
      const list = by.get(c.containerName) ?? [];
      list.push(c);
      by.set(c.containerName, list);
    }
    for (const list of by.values()) list.sort((a, b) => b.restartCount - a.restartCount);
    return by;
  }

  private async syncRunningPod(st: PodState, apiPod: Pod): Promise<number | undefined> {
    const uid = st.uid;
    const now = this.clock.now();
    st.startTime ??= apiPod.status?.startTime ?? rfc3339(now);
    const pod = withServiceAccountVolume(apiPod, await this.saAutomount(apiPod));
    let requeue: number | undefined;
    const wantAt = (ms: number) => {
      requeue = requeue === undefined ? ms : Math.min(requeue, ms);
    };

    // activeDeadlineSeconds counts from startTime; past it every container is killed.
    const deadline = pod.spec?.activeDeadlineSeconds;
    if (deadline !== undefined && deadline !== null) {
      const left = Date.parse(st.startTime) + deadline * 1000 - now;
      if (left <= 0) {
        st.terminal = { phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' };
        this.event(pod, 'Normal', 'DeadlineExceeded', st.terminal.message!);
        await this.ensurePodStopped(st, pod);
        return undefined;
      }
      wantAt(left);
    }

    let view = await this.runtimeView(uid);
    const hostNetwork = pod.spec?.hostNetwork === true;
    const running = view.sandboxes.filter((s) => s.state === 'running').sort((a, b) => b.attempt - a.attempt);
    let sandbox = running[0];
    if (!hostNetwork && this.ipam) {
      await this.ensureNetwork(this.ipam);
      st.podIP = await this.ipam.allocate(uid);
    } else if (hostNetwork) {
      st.podIP = this.nodeStatus.internalIP;
    }
    // A running sandbox with another IP than ours (an IP conflict resolved at start) is replaced.
    if (sandbox && !hostNetwork && sandbox.ip && sandbox.ip !== st.podIP) sandbox = undefined;
    if (!sandbox) {
      const hadSandbox = view.sandboxes.length > 0;
      const attempt = view.sandboxes.reduce((m, s) => Math.max(m, s.attempt + 1), 0);
      // Remember how the old containers ended before they go (lastState, restart counts).
      const restartBase = new Map<string, number>();
      for (const [name, list] of this.latestByName(view.containers)) {
        const newest = list[0]!;
        restartBase.set(name, newest.restartCount + 1);
        if (newest.state === 'exited') st.lastTerminated.set(name, newest);
        else if (newest.state === 'running') {
          // Stopped by the engine going away: record it as the engine would have.
          await this.runtime.stopContainer(newest.id, 0).catch(() => {});
          const after = await this.runtime.containerStatus(newest.id).catch(() => undefined);
          if (after) st.lastTerminated.set(name, after);
        }
      }
      if (hadSandbox) this.event(pod, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
      await Promise.allSettled(view.containers.map((c) => this.runtime.removeContainer(c.id)));
      await Promise.allSettled(view.sandboxes.map((s) => this.runtime.removeSandbox(s.id)));
      this.probes.retainForPod(uid, new Set());
      await this.runtime.ensureInfraImage();
      const { hostname, hostDomain } = podHostname(pod, this.opts.clusterDomain ?? 'cluster.local');
      const dns = podDnsConfig(pod, { clusterDNS: this.opts.clusterDNS ?? ['10.43.0.10'], clusterDomain: this.opts.clusterDomain ?? 'cluster.local', ...(this.hostResolv ? { hostResolv: this.hostResolv } : {}) });
      const id = await this.runtime.createSandbox({
        pod: { uid, namespace: pod.metadata?.namespace ?? 'default', name: pod.metadata?.name ?? '' },
        attempt,
        ip: st.podIP,
        hostname,
        ...(hostDomain ? { hostDomain } : {}),
        ...(dns ? { dns } : {}),
        hostAliases: (pod.spec?.hostAliases ?? []).map((a) => ({ ip: a.ip ?? '', hostnames: a.hostnames ?? [] })),
        portMappings: portMappings(pod),
        hostNetwork,
        labels: { [NODE_LABEL]: this.nodeName },
      });
      view = { sandboxes: [], containers: [] };
      sandbox = (await this.runtime.listSandboxes({ podUid: uid })).find((s) => s.id === id);
      if (!sandbox) throw new Error(`sandbox ${id} vanished right after creation`);
      st.restartBase = restartBase;
    }
    st.sandboxReady = true;
    const sandboxId = sandbox.id;

    // Volumes: created or refreshed on every sync (configMap/secret updates reach running containers).
    const facts = this.facts(st, pod);
    let volumePaths: Map<string, string>;
    try {
      const res = await setupVolumes(this.opts.dataDir, pod, this.sources(), facts);
      volumePaths = res.paths;
      for (const w of res.warnings) {
        if (st.warned.has(w)) continue;
        st.warned.add(w);
        this.event(pod, 'Warning', 'FailedMount', w);
      }
    } catch (err) {
      if (!(err instanceof VolumeError)) throw err;
      this.event(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed for volume "${err.volume}" : ${err.message}`);
      await this.writeStatus(st, pod, view, sandboxId);
      return 2000;
    }

    const byName = this.latestByName(view.containers);
    const ctx: SyncContext = { st, pod, sandboxId, facts, volumePaths, byName, wantAt };

    // Init containers, in order; a sidecar (restartPolicy Always) only has to have started.
    let initialized = true;
    const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
    for (const c of pod.spec?.initContainers ?? []) {
      const sidecar = c.restartPolicy === 'Always';
      if (sidecar) {
        const cur = await this.ensureContainer(ctx, c, 'Always', 'init');
        if (!(cur?.state === 'running' && this.probes.started(cur.id))) {
          initialized = false;
          break;
        }
        continue;
      }
      const cur = byName.get(c.name)?.[0];
      if (cur && cur.state === 'exited' && cur.exitCode === 0 && cur.specHash === containerHash(c)) continue;
      initialized = false;
      if (cur && cur.state === 'running') break;
      if (cur && cur.state === 'exited' && restartPolicy === 'Never') break;
      await this.ensureContainer(ctx, c, restartPolicy === 'Never' ? 'Never' : 'OnFailure', 'init');
      break;
    }
    if (initialized) {
      for (const c of pod.spec?.containers ?? []) await this.ensureContainer(ctx, c, restartPolicy, 'regular');
    }

    const status = await this.writeStatus(st, pod, await this.runtimeView(uid), sandboxId, initialized);
    if (status === 'Succeeded' || status === 'Failed') {
      st.terminal = { phase: status };
      await this.ensurePodStopped(st, pod);
      return undefined;
    }
    return requeue;
  }

  /**
   * Brings one container to what its restart policy wants: adopts a matching running instance,
   * restarts on a spec change or a failed liveness/startup probe, starts a new instance after
   * back-off, or leaves a finished one alone. Returns the newest instance.
   */
  private async ensureContainer(ctx: SyncContext, c: Container, policy: string, type: 'init' | 'regular'): Promise<ContainerStatus | undefined> {
    const { st, pod } = ctx;
    const hash = containerHash(c);
    const instances = ctx.byName.get(c.name) ?? [];
    let cur = instances[0];
    st.waiting.delete(c.name);
    const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;

    if (cur?.state === 'running') {
      let why: string | undefined;
      if (cur.specHash !== hash) why = `Container ${c.name} definition changed, will be restarted`;
      const failed = this.probes.failedKilling(cur.id);
      if (!why && failed) why = `Container ${c.name} failed ${failed} probe, will be restarted`;
      if (!why) {
        this.startProbes(ctx, c, cur);
        return cur;
      }
      this.event(pod, 'Normal', 'Killing', why, c.name);
      await this.stopOne(ctx, c, cur, grace);
      this.probes.forget(cur.id);
      cur = await this.runtime.containerStatus(cur.id);
      // A spec change always restarts; a liveness failure follows the restart policy.
      if (cur.specHash !== hash) return this.startContainer(ctx, c, type, cur.restartCount + 1);
    }
    if (cur && cur.state !== 'exited') {
      // Created but never started (a failed start): replace it.
      await this.runtime.removeContainer(cur.id);
      return this.startContainer(ctx, c, type, cur.restartCount + 1);
    }
    if (cur) {
      const code = cur.exitCode ?? 0;
      const restart = policy === 'Always' || (policy === 'OnFailure' && code !== 0) || cur.specHash !== hash;
      if (!restart) return cur;
      const key = `${st.uid}/${c.name}`;
      const since = cur.finishedAt ? Date.parse(cur.finishedAt) : this.clock.now();
      const left = this.backoff.remaining(key, since);
      if (left > 0) {
        const secs = Math.round(this.backoff.current(key) / 1000);
        st.waiting.set(c.name, { reason: 'CrashLoopBackOff', message: `back-off ${secs}s restarting failed container=${c.name} pod=${pod.metadata?.name}_${pod.metadata?.namespace}(${st.uid})` });
        this.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${pod.metadata?.name}_${pod.metadata?.namespace}(${st.uid})`, c.name);
        ctx.wantAt(left);
        return cur;
      }
      this.backoff.next(key, since);
      return this.startContainer(ctx, c, type, cur.restartCount + 1);
    }
    return this.startContainer(ctx, c, type, st.restartBase?.get(c.name) ?? st.lastTerminated.get(c.name)?.restartCount ?? 0);
  }

  private startProbes(ctx: SyncContext, c: Container, cur: ContainerStatus): void {
    if (!c.livenessProbe && !c.readinessProbe && !c.startupProbe) return;
    this.probes.ensure(
      ctx.pod,
      c.name,
      { ...(c.livenessProbe ? { liveness: c.livenessProbe } : {}), ...(c.readinessProbe ? { readiness: c.readinessProbe } : {}), ...(c.startupProbe ? { startup: c.startupProbe } : {}) },
      this.target(ctx, c, cur.id),
      cur.startedAt ? Date.parse(cur.startedAt) : Date.now(),
    );
  }

  private target(ctx: SyncContext, c: Container, containerId: string): ActionTarget {
    return { runtime: this.runtime, containerId, sandboxId: ctx.sandboxId, podIP: ctx.facts.podIP, container: c };
  }

  private async startContainer(ctx: SyncContext, c: Container, type: 'init' | 'regular', restartCount: number): Promise<ContainerStatus | undefined> {
    const { st, pod } = ctx;
    const image = c.image ?? '';
    const policy = pullPolicyFor(c);
    const pullKey = `${st.uid}/${c.name}/pull`;
    // Image
    const present = await this.runtime.imageExists(image).catch(() => false);
    if (policy === 'Always' || !present) {
      const left = this.backoff.remaining(pullKey, this.lastPullFailure.get(pullKey) ?? 0);
      if (left > 0 && st.lastPullFailed?.has(c.name)) {
        st.waiting.set(c.name, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` });
        this.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${image}"`, c.name);
        ctx.wantAt(left);
        return undefined;
      }
      if (policy !== 'Never') this.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`, c.name);
      const t0 = Date.now();
      try {
        await this.runtime.pullImage(image, policy, this.ac.signal);
      } catch (err) {
        if (!(err instanceof ImagePullError)) throw err;
        const now = this.clock.now();
        this.backoff.next(pullKey, now);
        this.lastPullFailure.set(pullKey, now);
        (st.lastPullFailed ??= new Set()).add(c.name);
        st.waiting.set(c.name, { reason: err.reason, message: err.message });
        if (err.reason === 'ErrImageNeverPull') this.event(pod, 'Warning', 'ErrImageNeverPull', err.message, c.name);
        else this.event(pod, 'Warning', 'Failed', err.reason === 'InvalidImageName' ? err.message : `Failed to pull image "${image}": ${err.message}`, c.name);
        this.event(pod, 'Warning', 'Failed', `Error: ${err.reason}`, c.name);
        ctx.wantAt(this.backoff.current(pullKey));
        return undefined;
      }
      st.lastPullFailed?.delete(c.name);
      this.backoff.reset(pullKey);
      if (policy !== 'Never') {
        const secs = ((Date.now() - t0) / 1000).toFixed(3);
        this.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${secs}s (${secs}s including waiting)`, c.name);
      }
    } else {
      this.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`, c.name);
    }

    // Config: env, command, mounts
    let cfg: ContainerConfig;
    try {
      const env = await resolveEnv(pod, c, this.sources(), ctx.facts);
      const envMap = new Map(env.map((e) => [e.name, e.value]));
      const mounts = await containerMounts(pod, c, ctx.volumePaths, envMap);
      const messagePath = await this.terminationMessageFile(st.uid, c.name, restartCount);
      if (messagePath) mounts.push({ hostPath: messagePath, containerPath: c.terminationMessagePath ?? '/dev/termination-log' });
      const command = expandCommand(c.command, env);
      const args = expandCommand(c.args, env);
      const security = securityConfig(pod, c);
      cfg = {
        pod: { uid: st.uid, namespace: pod.metadata?.namespace ?? 'default', name: pod.metadata?.name ?? '' },
        name: c.name,
        image,
        type,
        ...(command ? { command } : {}),
        ...(args ? { args } : {}),
        env,
        ...(c.workingDir ? { workingDir: c.workingDir } : {}),
        mounts,
        resources: containerResources(c),
        ...(security ? { security } : {}),
        tty: c.tty === true,
        stdin: c.stdin === true,
        stdinOnce: c.stdinOnce === true,
        restartCount,
        specHash: containerHash(c),
        shareProcessNamespace: pod.spec?.shareProcessNamespace === true,
        labels: { [NODE_LABEL]: this.nodeName },
      };
    } catch (err) {
      if (!(err instanceof ContainerConfigError) && !(err instanceof VolumeError)) throw err;
      st.waiting.set(c.name, { reason: 'CreateContainerConfigError', message: err.message });
      this.event(pod, 'Warning', 'Failed', `Error: ${err.message}`, c.name);
      ctx.wantAt(5000);
      return undefined;
    }

    let id: string;
    try {
      id = await this.runtime.createContainer(ctx.sandboxId, cfg);
    } catch (err) {
      st.waiting.set(c.name, { reason: 'CreateContainerError', message: (err as Error).message });
      this.event(pod, 'Warning', 'Failed', `Error: ${(err as Error).message}`, c.name);
      ctx.wantAt(5000);
      return undefined;
    }
    this.event(pod, 'Normal', 'Created', `Created container: ${c.name}`, c.name);
    try {
      await this.runtime.startContainer(id);
    } catch (err) {
      this.event(pod, 'Warning', 'Failed', `Error: failed to start container "${c.name}": ${(err as Error).message}`, c.name);
      st.waiting.set(c.name, { reason: 'RunContainerError', message: (err as Error).message });
      ctx.wantAt(5000);
      return undefined;
    }
    this.event(pod, 'Normal', 'Started', `Started container ${c.name}`, c.name);
    // Keep one previous instance (lastState, logs --previous); older ones go.
    const old = ctx.byName.get(c.name) ?? [];
    await Promise.allSettled(old.slice(1).map((o) => this.runtime.removeContainer(o.id)));
    let status = await this.runtime.containerStatus(id);
    ctx.byName.set(c.name, [status, ...old.slice(0, 1)]);

    if (c.lifecycle?.postStart) {
      const res = await this.runHook(c.lifecycle.postStart, this.target(ctx, c, id), (pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
      if (!res.ok) {
        this.event(pod, 'Warning', 'FailedPostStartHook', res.output, c.name);
        this.event(pod, 'Normal', 'Killing', `FailedPostStartHook`, c.name);
        await this.runtime.stopContainer(id, pod.spec?.terminationGracePeriodSeconds ?? 30).catch(() => {});
        status = await this.runtime.containerStatus(id);
        ctx.byName.set(c.name, [status, ...old.slice(0, 1)]);
        return status;
      }
    }
    if (status.state === 'running') this.startProbes(ctx, c, status);
    return status;
  }

  private readonly lastPullFailure = new Map<string, number>();

  private async terminationMessageFile(uid: string, name: string, restartCount: number): Promise<string | undefined> {
    // Only for real runtimes: the fake one never reads it, and simulated nodes need no files.
    if (this.runtimeName === 'fake') return undefined;
    const dir = join(podDir(this.opts.dataDir, uid), 'containers', name);
    await mkdir(dir, { recursive: true });
    const file = join(dir, String(restartCount));
    await writeFile(file, '', { mode: 0o666 });
    return file;
  }

  private async terminationMessage(uid: string, c: ContainerStatus): Promise<string | undefined> {
    if (this.runtimeName === 'fake') return undefined;
    const text = await readFile(join(podDir(this.opts.dataDir, uid), 'containers', c.containerName, String(c.restartCount)), 'utf8').catch(() => '');
    return text ? text.slice(0, 4096) : undefined;
  }

  private async runHook(h: LifecycleHandler, t: ActionTarget, timeoutMs: number) {
    if (h.exec) return runExec(t, h.exec.command ?? [], timeoutMs);
    if (h.httpGet) return runHttpGet(t, h.httpGet as never, timeoutMs);
    if (h.sleep) return runSleep(h.sleep.seconds, this.ac.signal);
    return { ok: true, output: '' };
  }

  /** preStop within the grace period, then SIGTERM and SIGKILL after what is left of it. */
  private async stopOne(ctx: Pick<SyncContext, 'pod' | 'sandboxId' | 'facts'>, c: Container | undefined, inst: ContainerStatus, graceSeconds: number): Promise<void> {
    const started = Date.now();
    if (c?.lifecycle?.preStop && inst.state === 'running') {
      const res = await this.runHook(c.lifecycle.preStop, { runtime: this.runtime, containerId: inst.id, sandboxId: ctx.sandboxId, podIP: ctx.facts.podIP, container: c }, graceSeconds * 1000);
      if (!res.ok) this.event(ctx.pod, 'Warning', 'FailedPreStopHook', res.output, c.name);
    }
    const left = Math.max(graceSeconds > 0 ? 1 : 0, graceSeconds - Math.floor((Date.now() - started) / 1000));
    await this.runtime.stopContainer(inst.id, graceSeconds > 0 ? left : 0).catch((err: unknown) => log.debug('stop failed', { error: err }));
  }

  // ---- status --------------------------------------------------------------------------------

  private async observeContainers(st: PodState, pod: Pod, view: RuntimeView): Promise<{ init: ObservedContainer[]; app: ObservedContainer[] }> {
    const byName = this.latestByName(view.containers);
    const observe = async (c: Container, sidecar: boolean): Promise<ObservedContainer> => {
      const list = byName.get(c.name) ?? [];
      const cur = list[0];
      const previous = list[1] ?? (st.lastTerminated.get(c.name)?.id !== cur?.id ? st.lastTerminated.get(c.name) : undefined);
      const running = cur?.state === 'running';
      const o: ObservedContainer = {
        name: c.name,
        image: c.image ?? '',
        sidecar,
        ready: running ? this.probes.ready(cur.id) : false,
        started: running ? this.probes.started(cur.id) : false,
      };
      if (cur) o.current = cur;
      if (previous) o.previous = previous;
      const waiting = st.waiting.get(c.name);
      if (waiting) o.waiting = waiting;
      if (cur?.state === 'exited') {
        const msg = await this.terminationMessage(st.uid, cur);
        if (msg) o.message = msg;
      }
      return o;
    };
    const init = await Promise.all((pod.spec?.initContainers ?? []).map((c) => observe(c, c.restartPolicy === 'Always')));
    const app = await Promise.all((pod.spec?.containers ?? []).map((c) => observe(c, false)));
    return { init, app };
  }

  /** Computes the status and writes it through pods/status when it differs; returns the phase. */
  private async writeStatus(st: PodState, pod: Pod, view: RuntimeView, _sandboxId: string | undefined, initialized?: boolean): Promise<string | undefined> {
    const status = await this.computeStatus(st, pod, view, initialized);
    await this.putStatus(st, pod, status);
    return status.phase;
  }

  private async computeStatus(st: PodState, pod: Pod, view: RuntimeView, initialized?: boolean): Promise<NonNullable<Pod['status']>> {
    const { init, app } = await this.observeContainers(st, pod, view);
    const initDone =
      initialized ??
      init.every((o) => (o.sidecar ? o.started : o.current?.state === 'exited' && o.current.exitCode === 0));
    return buildPodStatus(
      pod,
      {
        init,
        app,
        initialized: initDone,
        sandboxReady: st.sandboxReady,
        podIP: pod.spec?.hostNetwork ? this.nodeStatus.internalIP : st.podIP,
        hostIP: this.nodeStatus.internalIP,
        startTime: st.startTime ?? rfc3339(this.clock.now()),
        runtimeName: this.runtimeName,
        ...(st.terminal ? { terminal: st.terminal } : {}),
      },
      rfc3339(this.clock.now()),
    );
  }

  private async putStatus(st: PodState, pod: Pod, status: Pod['status']): Promise<void> {
    const text = JSON.stringify(status);
    const cached = st.pod ?? pod;
    if (text === JSON.stringify(cached.status) || (text === st.lastStatus && JSON.stringify(cached.status) === text)) return;
    let base = cached;
    for (let attempt = 0; attempt < 4; attempt++) {
      if (base.metadata?.uid !== st.uid) return;
      const next = { ...structuredClone(base), status } as Pod;
      try {
        const written = (await this.client.update(podsRef, next as unknown as KubeObject, { subresource: 'status' })) as unknown as Pod;
        st.lastStatus = text;
        // Later syncs compare against what we wrote even before the informer delivers it.
        if (st.pod && st.pod.metadata?.uid === written.metadata?.uid) st.pod = written;
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err)) throw err;
        try {
          base = (await this.client.get<KubeObject>(podsRef, pod.metadata?.name ?? '', pod.metadata?.namespace)) as unknown as Pod;
        } catch (e) {
          if (isNotFound(e)) return;
          throw e;
        }
      }
    }
  }

  // ---- stopping pods ---------------------------------------------------------------------------

  /** A finished pod: nothing runs any more (sidecars and sandbox stop), its IP goes back to the pool. */
  private async ensurePodStopped(st: PodState, pod: Pod): Promise<void> {
    const view = await this.runtimeView(st.uid);
    const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
    const ctx = { pod, sandboxId: view.sandboxes[0]?.id ?? '', facts: this.facts(st, pod) };
    await this.stopContainersInOrder(ctx, pod, view, grace);
    await Promise.allSettled(view.sandboxes.filter((s) => s.state === 'running').map((s) => this.runtime.stopSandbox(s.id)));
    this.probes.retainForPod(st.uid, new Set());
    st.sandboxReady = false;
    await this.ipam?.release(st.uid);
    const after = await this.runtimeView(st.uid);
    const phase = pod.status?.phase;
    if (!st.terminal && (phase === 'Succeeded' || phase === 'Failed')) st.terminal = { phase };
    await this.writeStatus(st, pod, after, undefined);
  }

  /** Regular containers first (in parallel), then sidecars in reverse order, as upstream stops them. */
  private async stopContainersInOrder(ctx: Pick<SyncContext, 'pod' | 'sandboxId' | 'facts'>, pod: Pod, view: RuntimeView, grace: number): Promise<void> {
    const runningOf = (names: string[]) => view.containers.filter((c) => c.state === 'running' && names.includes(c.containerName));
    const specOf = (name: string) => [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === name);
    const regular = runningOf((pod.spec?.containers ?? []).map((c) => c.name));
    const stop = (inst: ContainerStatus) => {
      this.event(pod, 'Normal', 'Killing', `Stopping container ${inst.containerName}`, inst.containerName);
      return this.stopOne(ctx, specOf(inst.containerName), inst, grace);
    };
    await Promise.allSettled(regular.map(stop));
    const inits = [...(pod.spec?.initContainers ?? [])].reverse();
    for (const c of inits) for (const inst of runningOf([c.name])) await stop(inst).catch(() => {});
    // Anything else still running (a container whose spec entry vanished).
    const rest = view.containers.filter((c) => c.state === 'running' && !specOf(c.containerName));
    await Promise.allSettled(rest.map((c) => this.runtime.stopContainer(c.id, 0)));
  }

  /** deletionTimestamp set: preStop, stop with the grace period, final status, then the final delete. */
  private async terminatePod(st: PodState, pod: Pod): Promise<void> {
    const view = await this.runtimeView(st.uid);
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    const ctx = { pod, sandboxId: view.sandboxes[0]?.id ?? '', facts: this.facts(st, pod) };
    await this.stopContainersInOrder(ctx, pod, view, grace);
    this.probes.retainForPod(st.uid, new Set());
    const stopped = await this.runtimeView(st.uid);
    st.sandboxReady = false;
    // Upstream moves a deleted pod to a terminal phase before removing it.
    if (!st.terminal && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') {
      const statuses = stopped.containers.filter((c) => (pod.spec?.containers ?? []).some((s) => s.name === c.containerName));
      const allOk = statuses.length > 0 && statuses.every((c) => c.exitCode === 0);
      st.terminal = { phase: allOk && (pod.spec?.restartPolicy ?? 'Always') !== 'Always' ? 'Succeeded' : allOk ? 'Succeeded' : 'Failed' };
    }
    const final = await this.computeStatus(st, pod, stopped);
    // Runtime objects go first: the API removes a deleted pod as soon as its phase is terminal.
    await this.cleanupPod(st.uid);
    await this.putStatus(st, pod, final).catch((err: unknown) => log.debug('final status not written', { error: err }));
    try {
      await this.client.delete(podsRef, pod.metadata?.name ?? '', { namespace: pod.metadata?.namespace, gracePeriodSeconds: 0, preconditions: { uid: st.uid } });
    } catch (err) {
      // Gone already, or replaced by a pod with the same name (a different uid): both are fine.
      if (!isNotFound(err) && !isConflict(err) && !(err instanceof ClientError && err.code === 409)) throw err;
    }
  }

  /** Removes every runtime object, file and allocation of a pod. */
  private async cleanupPod(uid: string): Promise<void> {
    const view = await this.runtimeView(uid);
    this.probes.retainForPod(uid, new Set());
    await Promise.allSettled(view.containers.map((c) => this.runtime.removeContainer(c.id)));
    await Promise.allSettled(view.sandboxes.map((s) => this.runtime.removeSandbox(s.id)));
    await this.ipam?.release(uid);
    this.backoff.forgetPrefix(`${uid}/`);
    await rm(podDir(this.opts.dataDir, uid), { recursive: true, force: true }).catch(() => {});
  }
}

interface SyncContext {
  st: PodState;
  pod: Pod;
  sandboxId: string;
  facts: PodRuntimeFacts;
  volumePaths: Map<string, string>;
  byName: Map<string, ContainerStatus[]>;
  wantAt(ms: number): void;
}

export interface StartKubeletOptions extends Omit<KubeletOptions, 'signal'> {
  signal: AbortSignal;
}

/** Starts a kubelet (node registered, caches synced, state rebuilt) and returns it. */
export async function startKubelet(opts: StartKubeletOptions): Promise<Kubelet> {
  const k = new Kubelet(opts);
  await k.start();
  return k;
}

