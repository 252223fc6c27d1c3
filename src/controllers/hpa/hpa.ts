// HorizontalPodAutoscaler controller (autoscaling/v2, Resource metrics cpu/memory): every sync
// period reads the target's scale, the selected pods and their metrics from a PodMetricsSource,
// computes replicas with ./algorithm.ts, scales through the /scale subresource and writes status
// with the AbleToScale / ScalingActive / ScalingLimited conditions `kubectl describe hpa` shows.
import { isNotFound, type Client, type KubeObject, type ResourceRef } from '../../client/types.ts';
import type { SharedInformers } from '../../client/shared-informers.ts';
import type { Informer } from '../../client/informer.ts';
import type { EventRecorder } from '../../controller/events.ts';
import { ControllerRunner, type Reconciler, type Request, type Result } from '../../controller/runner.ts';
import { rfc3339 } from '../../api/meta.ts';
import { selectorFromObject, type LabelSelectorObject } from '../../api/labels.ts';
import type { ResourceCatalog } from '../garbagecollector/resources.ts';
import { podsRef } from '../nodelifecycle/nodelifecycle.ts';
import { isPodReady } from '../disruption/disruption.ts';
import { podCompute } from '../resourcequota/usage.ts';
import { formatMilli, parseMilli } from '../resourcequota/quantity.ts';
import { normalizeReplicas, replicasForResource, type Behavior, type PodSample, type Recommendation, type ResourceTarget, type ScaleEvent } from './algorithm.ts';

export const hpaRef: ResourceRef = { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers', namespaced: true };

/** Where pod usage comes from (the kubelet stats collector implements it; tests use a fake). */
export interface PodMetricsSource {
  /** Usage per pod name, per resource ("cpu", "memory") in milli-units; pods without data are absent. */
  podMetrics(namespace: string, podNames: readonly string[]): Promise<Map<string, Record<string, number>>>;
}

interface MetricSpec {
  type: string;
  resource?: { name: string; target: { type: string; averageUtilization?: number; averageValue?: string } };
}

interface HpaSpec {
  scaleTargetRef: { apiVersion: string; kind: string; name: string };
  minReplicas?: number;
  maxReplicas: number;
  metrics?: MetricSpec[];
  behavior?: Behavior;
}

type Condition = { type: string; status: string; reason: string; message: string; lastTransitionTime?: string };

export interface HpaControllerOptions {
  client: Client;
  informers: SharedInformers;
  catalog: ResourceCatalog;
  metrics: PodMetricsSource;
  recorder?: EventRecorder;
  now?: () => number;
  /** Upstream --horizontal-pod-autoscaler-sync-period: 15 s. */
  syncPeriodMs?: number;
}

export class HorizontalPodAutoscalerController implements Reconciler {
  readonly name = 'horizontal-pod-autoscaler';
  readonly runner = new ControllerRunner(this, 2);
  private readonly hpas: Informer;
  private readonly pods: Informer;
  private readonly recommendations = new Map<string, Recommendation[]>();
  private readonly scaleEvents = new Map<string, ScaleEvent[]>();
  private readonly now: () => number;

  constructor(private readonly opts: HpaControllerOptions) {
    this.now = opts.now ?? Date.now;
    this.hpas = opts.informers.informerFor(hpaRef);
    this.pods = opts.informers.informerFor(podsRef);
    const enqueue = (o: KubeObject) => this.runner.enqueue({ namespace: o.metadata.namespace!, name: o.metadata.name! });
    this.hpas.addHandlers({ onAdd: enqueue, onUpdate: (o, n) => o.metadata.generation !== n.metadata.generation && enqueue(n) });
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.hpas.waitForSync(signal), this.pods.waitForSync(signal)]);
    await this.runner.run(signal);
  }

  async reconcile(req: Request): Promise<Result | void> {
    const key = `${req.namespace}/${req.name}`;
    const hpa = this.hpas.get(req.name, req.namespace);
    if (!hpa || hpa.metadata.deletionTimestamp) {
      this.recommendations.delete(key);
      this.scaleEvents.delete(key);
      return;
    }
    const again = { requeueAfterMs: this.opts.syncPeriodMs ?? 15_000 };
    const now = this.now();
    const spec = hpa.spec as HpaSpec;
    const status = (hpa.status ?? {}) as Record<string, unknown>;
    const conditions: Condition[] = [];
    const ns = req.namespace!;

    const info = this.opts.catalog.byKind(spec.scaleTargetRef.apiVersion, spec.scaleTargetRef.kind);
    let target: KubeObject | undefined;
    try {
      if (!info || !info.scale) throw new Error(`no scale subresource for ${spec.scaleTargetRef.kind}`);
      target = await this.opts.client.get(info, spec.scaleTargetRef.name, ns);
    } catch (e) {
      conditions.push({ type: 'AbleToScale', status: 'False', reason: 'FailedGetScale', message: `the HPA controller was unable to get the target's current scale: ${(e as Error).message}` });
      this.opts.recorder?.event(hpa, 'Warning', 'FailedGetScale', (e as Error).message);
      await this.writeStatus(hpa, { ...status, conditions: merge(status.conditions as Condition[] | undefined, conditions, now) });
      return again;
    }
    const currentReplicas = Number(getPath(target, info.scale.specReplicasPath) ?? 0);
    const minReplicas = spec.minReplicas ?? 1;
    if (currentReplicas === 0 && minReplicas !== 0) {
      conditions.push({ type: 'AbleToScale', status: 'True', reason: 'SucceededGetScale', message: 'the HPA controller was able to get the target\'s current scale' });
      conditions.push({ type: 'ScalingActive', status: 'False', reason: 'ScalingDisabled', message: 'scaling is disabled since the replica count of the target is zero' });
      await this.writeStatus(hpa, { ...status, currentReplicas, desiredReplicas: 0, conditions: merge(status.conditions as Condition[] | undefined, conditions, now) });
      return again;
    }

    const selector = selectorFromObject(getPath(target, info.scale.labelSelectorPath) as LabelSelectorObject | undefined);
    const pods = this.pods.list((p) => p.metadata.namespace === ns && !p.metadata.deletionTimestamp && (p.status as { phase?: string } | undefined)?.phase !== 'Failed' && selector.matches(p.metadata.labels));
    let desired = -1;
    const currentMetrics: unknown[] = [];
    let reasonText = '';
    let metricError: string | undefined;
    try {
      const usage = await this.opts.metrics.podMetrics(ns, pods.map((p) => p.metadata.name!));
      for (const m of spec.metrics ?? []) {
        if (m.type !== 'Resource' || !m.resource) throw new Error(`metric type ${m.type} is not supported yet`);
        const res = m.resource.name;
        const t = m.resource.target;
        const targetSpec: ResourceTarget = t.type === 'AverageValue' ? { type: 'AverageValue', averageValue: parseMilli(t.averageValue ?? '0') } : { type: 'Utilization', averageUtilization: t.averageUtilization ?? 80 };
        const samples: PodSample[] = pods.map((p) => {
          const req = podCompute(p, 'requests', res);
          return { name: p.metadata.name!, request: req > 0 ? req : undefined, usage: usage.get(p.metadata.name!)?.[res], ready: res !== 'cpu' || isPodReady(p) };
        });
        const calc = replicasForResource(currentReplicas, targetSpec, samples, res);
        currentMetrics.push({ type: 'Resource', resource: { name: res, current: { averageValue: formatMilli(calc.averageValue, res === 'memory' ? 'binary' : 'decimal'), ...(calc.utilization !== undefined ? { averageUtilization: calc.utilization } : {}) } } });
        if (calc.replicas > desired) {
          desired = calc.replicas;
          reasonText = `${res} resource${targetSpec.type === 'Utilization' ? ' utilization (percentage of request)' : ''}`;
        }
      }
      if (desired < 0) throw new Error('no metrics');
    } catch (e) {
      metricError = (e as Error).message;
    }
    if (metricError !== undefined) {
      conditions.push({ type: 'AbleToScale', status: 'True', reason: 'SucceededGetScale', message: 'the HPA controller was able to get the target\'s current scale' });
      conditions.push({ type: 'ScalingActive', status: 'False', reason: 'FailedGetResourceMetric', message: `the HPA was unable to compute the replica count: ${metricError}` });
      this.opts.recorder?.event(hpa, 'Warning', 'FailedGetResourceMetric', metricError);
      await this.writeStatus(hpa, { ...status, currentReplicas, desiredReplicas: currentReplicas, conditions: merge(status.conditions as Condition[] | undefined, conditions, now) });
      return again;
    }

    const recs = (this.recommendations.get(key) ?? []).filter((r) => r.at > now - 3600_000);
    const events = (this.scaleEvents.get(key) ?? []).filter((e) => e.at > now - 3600_000);
    const norm = normalizeReplicas({ currentReplicas, desired, minReplicas, maxReplicas: spec.maxReplicas, ...(spec.behavior ? { behavior: spec.behavior } : {}), recommendations: recs, scaleEvents: events, now });
    recs.push({ at: now, replicas: desired });
    this.recommendations.set(key, recs.slice(-200));

    let lastScaleTime = status.lastScaleTime as string | undefined;
    if (norm.replicas !== currentReplicas) {
      try {
        await this.opts.client.patch(info, spec.scaleTargetRef.name, 'merge', { spec: { replicas: norm.replicas } }, { namespace: ns, subresource: 'scale' });
      } catch (e) {
        conditions.push({ type: 'AbleToScale', status: 'False', reason: 'FailedUpdateScale', message: `the HPA controller was unable to update the target scale: ${(e as Error).message}` });
        this.opts.recorder?.event(hpa, 'Warning', 'FailedRescale', `New size: ${norm.replicas}; reason: ${(e as Error).message}`);
        await this.writeStatus(hpa, { ...status, conditions: merge(status.conditions as Condition[] | undefined, conditions, now) });
        throw e;
      }
      events.push({ at: now, change: norm.replicas - currentReplicas });
      lastScaleTime = rfc3339(now);
      const why = norm.replicas > currentReplicas ? `${reasonText} above target` : 'All metrics below target';
      this.opts.recorder?.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${norm.replicas}; reason: ${why}`);
      conditions.push({ type: 'AbleToScale', status: 'True', reason: 'SucceededRescale', message: `the HPA controller was able to update the target scale to ${norm.replicas}` });
    } else if (norm.ableToScaleReason) {
      conditions.push({ type: 'AbleToScale', status: 'True', reason: norm.ableToScaleReason, message: norm.ableToScaleMessage ?? '' });
    } else {
      conditions.push({ type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size' });
    }
    this.scaleEvents.set(key, events);
    conditions.push({ type: 'ScalingActive', status: 'True', reason: 'ValidMetricFound', message: `the HPA was able to successfully calculate a replica count from ${reasonText}` });
    conditions.push(
      norm.limited === 'TooManyReplicas'
        ? { type: 'ScalingLimited', status: 'True', reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' }
        : norm.limited === 'TooFewReplicas'
          ? { type: 'ScalingLimited', status: 'True', reason: 'TooFewReplicas', message: 'the desired replica count is less than the minimum replica count' }
          : { type: 'ScalingLimited', status: 'False', reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' },
    );
    await this.writeStatus(hpa, {
      ...(hpa.metadata.generation !== undefined ? { observedGeneration: hpa.metadata.generation } : {}),
      ...(lastScaleTime ? { lastScaleTime } : {}),
      currentReplicas,
      desiredReplicas: norm.replicas,
      currentMetrics,
      conditions: merge(status.conditions as Condition[] | undefined, conditions, now),
    });
    return again;
  }

  private async writeStatus(hpa: KubeObject, status: Record<string, unknown>): Promise<void> {
    if (JSON.stringify(hpa.status) === JSON.stringify(status)) return;
    const updated = structuredClone(hpa);
    updated.status = status;
    try {
      await this.opts.client.update(hpaRef, updated, { subresource: 'status' });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** New conditions replace old ones of the same type; lastTransitionTime moves only on a status change. */
function merge(old: Condition[] | undefined, next: Condition[], now: number): Condition[] {
  const out = [...(old ?? [])];
  for (const c of next) {
    const i = out.findIndex((o) => o.type === c.type);
    const prior = i >= 0 ? out[i] : undefined;
    const merged = { ...c, lastTransitionTime: prior && prior.status === c.status && prior.lastTransitionTime ? prior.lastTransitionTime : rfc3339(now) };
    if (i >= 0) out[i] = merged;
    else out.push(merged);
  }
  return out;
}

function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.replace(/^\./, '').split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
