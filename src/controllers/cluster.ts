// The cluster-wide controllers (kube-controller-manager's non-workload half) started as one
// component: garbage collector, namespace, service account, root CA publisher, pod GC, node
// lifecycle, disruption (PDB status), resource quota and horizontal pod autoscaler. They share one
// set of informers, so each resource is watched once however many controllers read it.
import { setMaxListeners } from 'node:events';
import { SharedInformers } from '../client/shared-informers.ts';
import type { Client } from '../client/types.ts';
import { EventRecorder } from '../controller/events.ts';
import type { Registry } from '../registry/types.ts';
import { builtinRegistry } from '../registry/index.ts';
import type { Component, ComponentContext } from '../server/components.ts';
import { logger } from '../util/log.ts';
import { GarbageCollector } from './garbagecollector/garbagecollector.ts';
import { registryCatalog, type ResourceCatalog } from './garbagecollector/resources.ts';
import { NamespaceController } from './namespace/namespace.ts';
import { ServiceAccountController } from './serviceaccount/serviceaccount.ts';
import { RootCACertPublisher } from './rootcacert/rootcacert.ts';
import { PodGC } from './podgc/podgc.ts';
import { NodeLifecycleController } from './nodelifecycle/nodelifecycle.ts';
import { DisruptionController } from './disruption/disruption.ts';
import { ResourceQuotaController } from './resourcequota/resourcequota.ts';
import { HorizontalPodAutoscalerController, type PodMetricsSource } from './hpa/hpa.ts';

const log = logger('controllers/cluster');

export interface ClusterControllersOptions {
  /** One client per controller is nicer for audit; a single one works (tests). */
  clientFor(controller: string): Client;
  catalog: ResourceCatalog;
  /** PEM of the cluster CA, published as kube-root-ca.crt in every namespace. */
  caPem: string;
  /** Milliseconds since the epoch; tests move it forward instead of waiting. */
  now?: () => number;
  /** Pod usage for the HPA; without one the HPA reports FailedGetResourceMetric. */
  metrics?: PodMetricsSource;
  /** Finished pods kept by pod GC (upstream 12500). */
  terminatedPodThreshold?: number;
  /** Which controllers to run (default: all). */
  only?: readonly ClusterControllerName[];
}

export type ClusterControllerName =
  | 'garbagecollector'
  | 'namespace'
  | 'serviceaccount'
  | 'root-ca-cert-publisher'
  | 'podgc'
  | 'nodelifecycle'
  | 'disruption'
  | 'resourcequota'
  | 'horizontalpodautoscaling';

/** Until the kubelet stats collector lands: no pod has metrics. */
const noMetrics: PodMetricsSource = { podMetrics: async () => new Map() };

export interface RunningClusterControllers {
  informers: SharedInformers;
  garbageCollector?: GarbageCollector;
  namespace?: NamespaceController;
  nodeLifecycle?: NodeLifecycleController;
  podGC?: PodGC;
  /** Resolves when every controller has stopped (after the signal aborts). */
  done: Promise<void>;
}

/** Starts the selected controllers and resolves once their informers are synced. */
export async function startClusterControllers(opts: ClusterControllersOptions, signal: AbortSignal): Promise<RunningClusterControllers> {
  const want = (n: ClusterControllerName) => !opts.only || opts.only.includes(n);
  // Every informer, controller and timer listens on this one signal; more than 10 is expected.
  setMaxListeners(200, signal);
  const informerClient = opts.clientFor('shared-informers');
  const informers = new SharedInformers(informerClient);
  const runs: Array<(s: AbortSignal) => Promise<void>> = [];
  const out: Omit<RunningClusterControllers, 'done'> = { informers };

  if (want('garbagecollector')) {
    const client = opts.clientFor('generic-garbage-collector');
    const gc = new GarbageCollector({ client, informers, catalog: opts.catalog, recorder: new EventRecorder(client, 'garbage-collector-controller') });
    gc.watchResources();
    out.garbageCollector = gc;
    runs.push((s) => gc.run(s));
  }
  if (want('namespace')) {
    const ns = new NamespaceController({ client: opts.clientFor('namespace-controller'), informers, catalog: opts.catalog, ...(opts.now ? { now: opts.now } : {}) });
    out.namespace = ns;
    runs.push((s) => ns.run(s));
  }
  if (want('serviceaccount')) {
    const sa = new ServiceAccountController(opts.clientFor('service-account-controller'), informers);
    runs.push((s) => sa.run(s));
  }
  if (want('root-ca-cert-publisher')) {
    const ca = new RootCACertPublisher(opts.clientFor('root-ca-cert-publisher'), informers, opts.caPem);
    runs.push((s) => ca.run(s));
  }

  const now = opts.now ? { now: opts.now } : {};
  if (want('podgc')) {
    const gc = new PodGC({ client: opts.clientFor('pod-garbage-collector'), informers, ...now, ...(opts.terminatedPodThreshold !== undefined ? { terminatedPodThreshold: opts.terminatedPodThreshold } : {}) });
    out.podGC = gc;
    runs.push((s) => gc.run(s));
  }
  if (want('nodelifecycle')) {
    const client = opts.clientFor('node-controller');
    const nl = new NodeLifecycleController({ client, informers, recorder: new EventRecorder(client, 'node-controller'), ...now });
    out.nodeLifecycle = nl;
    runs.push((s) => nl.run(s));
  }
  if (want('disruption')) {
    const d = new DisruptionController({ client: opts.clientFor('disruption-controller'), informers, catalog: opts.catalog, ...now });
    runs.push((s) => d.run(s));
  }
  if (want('resourcequota')) {
    const q = new ResourceQuotaController({ client: opts.clientFor('resourcequota-controller'), informers, catalog: opts.catalog });
    runs.push((s) => q.run(s));
  }
  if (want('horizontalpodautoscaling')) {
    const client = opts.clientFor('horizontal-pod-autoscaler');
    const hpa = new HorizontalPodAutoscalerController({ client, informers, catalog: opts.catalog, metrics: opts.metrics ?? noMetrics, recorder: new EventRecorder(client, 'horizontal-pod-autoscaler'), ...now });
    runs.push((s) => hpa.run(s));
  }

  informers.start(signal);
  const done = Promise.all(
    runs.map((r) =>
      r(signal).catch((e) => {
        if (!signal.aborted) log.error('controller stopped with an error', { error: e });
      }),
    ),
  ).then(() => undefined);
  await informers.waitForSync(signal);
  return { ...out, done };
}

/** The component entry point: the server's registry (built-in kinds and CRDs) drives GC and namespace deletion. */
export const clusterControllersComponent: Component = {
  name: 'cluster-controllers',
  background: true,
  async start(ctx: ComponentContext) {
    const registry = ctx.registry;
    const stop = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stop.signal]);
    const running = await startClusterControllers(
      {
        clientFor: (name) => ctx.clientFor({ username: `system:serviceaccount:kube-system:${name}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] }, `nanokube/${name}`),
        catalog: registryCatalog(registry),
        caPem: ctx.pki.ca.certPem,
        // The kubelet stats collector provides this once it exists (ctx.podMetrics).
        ...((ctx as ComponentContext & { podMetrics?: PodMetricsSource }).podMetrics ? { metrics: (ctx as ComponentContext & { podMetrics?: PodMetricsSource }).podMetrics! } : {}),
      },
      signal,
    );
    return {
      detail: '9 controllers',
      async stop() {
        stop.abort();
        await running.done;
      },
    };
  },
};
