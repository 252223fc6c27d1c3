// A stand-in for the scheduler and kubelet in controller tests: registers fake Nodes, binds
// unscheduled pods to them (honouring a DaemonSet pod's node affinity to one node), and moves pods
// on its nodes to Running/Ready, Succeeded or Failed through pods/status — or leaves them
// not ready, as a kubelet would with a bad image. Pods being deleted are finished at once.
import { Informer } from '../../src/client/informer.ts';
import { isNotFound, type Client, type KubeObject, type ResourceRef } from '../../src/client/types.ts';
import { ControllerRunner, type Request } from '../../src/controller/runner.ts';
import type { PodObject } from '../../src/controllers/replicaset/podutil.ts';

const pods: ResourceRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };
const nodes: ResourceRef = { group: '', version: 'v1', resource: 'nodes', namespaced: false };

/** What the fake kubelet does with a pod that landed on one of its nodes. */
export type PodFate = 'ready' | 'notReady' | 'succeed' | 'fail' | 'ignore' | { fail: { exitCode: number; reason?: string } };

export interface FakeKubeletOptions {
  nodes: string[];
  /** Extra labels / taints per node. */
  nodeLabels?: Record<string, Record<string, string>>;
  nodeTaints?: Record<string, Array<{ key: string; value?: string; effect: string }>>;
  /** Bind pods without spec.nodeName (acting as the scheduler). Default true. */
  bind?: boolean;
  fate?: (pod: PodObject) => PodFate;
  workers?: number;
}

export class FakeKubelet {
  private readonly ac = new AbortController();
  private readonly informer: Informer<PodObject>;
  private readonly runner: ControllerRunner;
  private rr = 0;
  /** Pods this kubelet has already given a final state, by uid (a kubelet acts once per pod). */
  private readonly handled = new Set<string>();
  fate: (pod: PodObject) => PodFate;
  counts = { bound: 0, ready: 0, notReady: 0, succeeded: 0, failed: 0, deleted: 0 };

  constructor(
    private readonly client: Client,
    private readonly opts: FakeKubeletOptions,
  ) {
    this.fate = opts.fate ?? (() => 'ready');
    this.informer = new Informer<PodObject>(client, pods);
    this.runner = new ControllerRunner({ name: 'fake-kubelet', reconcile: (req) => this.sync(req) }, opts.workers ?? 8);
    const enqueue = (p: KubeObject) => this.runner.enqueue({ namespace: p.metadata.namespace, name: p.metadata.name ?? '' });
    this.informer.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });
  }

  async start(): Promise<void> {
    for (const name of this.opts.nodes) await this.addNode(name);
    void this.informer.run(this.ac.signal);
    void this.runner.run(this.ac.signal);
    await this.informer.waitForSync(this.ac.signal);
  }

  stop(): void {
    this.ac.abort();
  }

  async addNode(name: string): Promise<void> {
    const labels = { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...(this.opts.nodeLabels?.[name] ?? {}) };
    const taints = this.opts.nodeTaints?.[name];
    const node = await this.client.create(nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: taints ? { taints } : {} });
    await this.client.update(
      nodes,
      {
        ...node,
        status: {
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'fake kubelet is ready', lastHeartbeatTime: now(), lastTransitionTime: now() }],
          capacity: { cpu: '8', memory: '16Gi', pods: '250' },
          allocatable: { cpu: '8', memory: '16Gi', pods: '250' },
        },
      },
      { subresource: 'status' },
    );
  }

  private async sync(req: Request): Promise<void> {
    const pod = this.informer.get(req.name, req.namespace);
    if (!pod) return;
    if (pod.metadata.deletionTimestamp) {
      // Containers "stopped": finish the graceful delete as the kubelet does.
      if (!pod.spec?.nodeName || !this.opts.nodes.includes(pod.spec.nodeName)) return;
      try {
        await this.client.delete(pods, req.name, { namespace: req.namespace, gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
        this.counts.deleted++;
      } catch (e) {
        if (!isNotFound(e) && (e as { code?: number }).code !== 409) throw e;
      }
      return;
    }
    if (!pod.spec?.nodeName) {
      if (this.opts.bind === false) return;
      const target = this.pickNode(pod);
      if (!target) return;
      try {
        await this.client.createSubresource(pods, req.name, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: req.name, namespace: req.namespace }, target: { kind: 'Node', name: target } }, req.namespace);
        this.counts.bound++;
      } catch (e) {
        if (!isNotFound(e) && (e as { code?: number }).code !== 409) throw e;
      }
      return;
    }
    if (!this.opts.nodes.includes(pod.spec.nodeName)) return;
    const uid = pod.metadata.uid ?? '';
    if (this.handled.has(uid) || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    const fate = this.fate(pod);
    if (fate === 'ignore') return;
    this.handled.add(uid);
    await this.setStatus(pod, fate);
  }

  /** Finish a running pod later in a test (e.g. a Job pod that should succeed now). */
  async finish(namespace: string, name: string, fate: 'succeed' | 'fail' | 'ready' | 'notReady'): Promise<void> {
    const pod = await this.client.get<PodObject>(pods, name, namespace);
    await this.setStatus(pod, fate);
  }

  private async setStatus(pod: PodObject, fate: Exclude<PodFate, 'ignore'>): Promise<void> {
    const t = now();
    const containers = pod.spec?.containers ?? [];
    const cond = (type: string, status: boolean, reason?: string) => ({ type, status: status ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: t, ...(reason ? { reason } : {}) });
    let status: Record<string, unknown>;
    if (fate === 'ready' || fate === 'notReady') {
      const ready = fate === 'ready';
      status = {
        phase: 'Running',
        conditions: [cond('PodReadyToStartContainers', true), cond('Initialized', true), cond('Ready', ready, ready ? undefined : 'ContainersNotReady'), cond('ContainersReady', ready, ready ? undefined : 'ContainersNotReady'), cond('PodScheduled', true)],
        hostIP: '10.0.0.1',
        podIP: '10.42.0.10',
        startTime: t,
        containerStatuses: containers.map((c) =>
          ready
            ? { name: c.name, image: c.image, imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: t } } }
            : { name: c.name, image: c.image, imageID: '', ready: false, started: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` } } },
        ),
      };
      this.counts[ready ? 'ready' : 'notReady']++;
    } else {
      const ok = fate === 'succeed';
      const exitCode = typeof fate === 'object' ? fate.fail.exitCode : ok ? 0 : 1;
      const reason = typeof fate === 'object' ? (fate.fail.reason ?? 'Error') : ok ? 'Completed' : 'Error';
      status = {
        phase: ok ? 'Succeeded' : 'Failed',
        conditions: [cond('PodReadyToStartContainers', false), cond('Initialized', true), cond('Ready', false, 'PodCompleted'), cond('ContainersReady', false, 'PodCompleted'), cond('PodScheduled', true)],
        startTime: t,
        containerStatuses: containers.map((c) => ({ name: c.name, image: c.image, imageID: '', ready: false, started: false, restartCount: 0, state: { terminated: { exitCode, reason, startedAt: t, finishedAt: t } } })),
      };
      this.counts[ok ? 'succeeded' : 'failed']++;
    }
    try {
      await this.client.patch(pods, pod.metadata.name ?? '', 'merge', { status }, { namespace: pod.metadata.namespace, subresource: 'status' });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private pickNode(pod: PodObject): string | undefined {
    // DaemonSet pods carry required node affinity to exactly one node (matchFields metadata.name).
    const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    for (const term of terms) {
      for (const f of term.matchFields ?? []) {
        if (f.key === 'metadata.name' && f.operator === 'In') return f.values?.find((v) => this.opts.nodes.includes(v));
      }
    }
    const node = this.opts.nodes[this.rr++ % this.opts.nodes.length];
    return node;
  }
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export async function startFakeKubelet(client: Client, opts: FakeKubeletOptions): Promise<FakeKubelet> {
  const k = new FakeKubelet(client, opts);
  await k.start();
  return k;
}
