// HorizontalPodAutoscalers: stored as autoscaling/v2, also served as autoscaling/v1 (CPU target only).

import type { KubeObject } from '../../../api/meta.ts';
import { fieldInvalid, fieldRequired, type FieldError } from '../../../api/status.ts';
import { AGE_COLUMN, ageOf, arr, col, NAME_COLUMN, nameOf, num, obj, simpleKind } from '../common.ts';
import type { ResourceDef, TablePrinter } from '../../types.ts';

const cpuMetric = (pct: number) => ({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: pct } } });

function v1ToV2(o: KubeObject): KubeObject {
  const { targetCPUUtilizationPercentage, ...spec } = obj(o.spec);
  const out: KubeObject = { ...o, apiVersion: 'autoscaling/v2', spec: { ...spec } };
  if (typeof targetCPUUtilizationPercentage === 'number') (out.spec as Record<string, unknown>).metrics = [cpuMetric(targetCPUUtilizationPercentage)];
  const st = obj(o.status);
  if (Object.keys(st).length) {
    const { currentCPUUtilizationPercentage, ...rest } = st;
    const s2: Record<string, unknown> = { ...rest };
    if (typeof currentCPUUtilizationPercentage === 'number') {
      s2.currentMetrics = [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: currentCPUUtilizationPercentage } } }];
    }
    out.status = s2;
  }
  return out;
}

function v2ToV1(o: KubeObject): KubeObject {
  const { metrics, behavior: _b, ...spec } = obj(o.spec);
  const cpu = arr(metrics).map(obj).find((m) => m.type === 'Resource' && obj(m.resource).name === 'cpu');
  const out: KubeObject = { ...o, spec: { ...spec } };
  const pct = cpu ? obj(obj(cpu.resource).target).averageUtilization : undefined;
  if (typeof pct === 'number') (out.spec as Record<string, unknown>).targetCPUUtilizationPercentage = pct;
  const { currentMetrics, conditions: _c, ...st } = obj(o.status);
  const cur = arr(currentMetrics).map(obj).find((m) => m.type === 'Resource' && obj(m.resource).name === 'cpu');
  const curPct = cur ? obj(obj(cur.resource).current).averageUtilization : undefined;
  if (typeof curPct === 'number') st.currentCPUUtilizationPercentage = curPct;
  out.status = st;
  return out;
}

function validate(o: KubeObject): FieldError[] {
  const spec = obj(o.spec);
  const errs: FieldError[] = [];
  const ref = obj(spec.scaleTargetRef);
  if (!ref.kind) errs.push(fieldRequired('spec.scaleTargetRef.kind'));
  if (!ref.name) errs.push(fieldRequired('spec.scaleTargetRef.name'));
  if (typeof spec.maxReplicas !== 'number' || spec.maxReplicas < 1) errs.push(fieldInvalid('spec.maxReplicas', spec.maxReplicas ?? 0, 'must be greater than or equal to 1'));
  if (typeof spec.minReplicas === 'number' && typeof spec.maxReplicas === 'number' && spec.minReplicas > spec.maxReplicas) {
    errs.push(fieldInvalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`'));
  }
  return errs;
}

const printer: TablePrinter = {
  columns: [
    NAME_COLUMN,
    col('Reference', 'string', 0, 'Reference to the target object'),
    col('Targets', 'string', 0, 'Current and target metric values'),
    col('MinPods', 'string', 0, 'Lower limit for the number of pods.'),
    col('MaxPods', 'integer', 0, 'Upper limit for the number of pods.'),
    col('Replicas', 'integer', 0, 'Current number of replicas of pods managed by this autoscaler.'),
    AGE_COLUMN,
  ],
  cells: (o, now) => {
    const spec = obj(o.spec);
    const ref = obj(spec.scaleTargetRef);
    const v2 = o.apiVersion === 'autoscaling/v2' ? o : v1ToV2(o);
    const cur = arr(obj(v2.status).currentMetrics).map(obj);
    const targets = arr(obj(v2.spec).metrics).map(obj).map((m, i) => {
      const target = obj(obj(m.resource).target);
      const c = obj(obj(cur[i]?.resource).current);
      const have = typeof c.averageUtilization === 'number' ? `${c.averageUtilization}%` : '<unknown>';
      return typeof target.averageUtilization === 'number' ? `cpu: ${have}/${target.averageUtilization}%` : '<unknown>';
    });
    return [nameOf(o), `${String(ref.kind ?? '')}/${String(ref.name ?? '')}`, targets.length ? targets.join(', ') : '<none>', String(spec.minReplicas ?? '<unset>'), num(spec.maxReplicas), num(obj(o.status).currentReplicas), ageOf(o, now)];
  },
};

const base = { group: 'autoscaling', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', namespaced: true, shortNames: ['hpa'], categories: ['all'], status: true };

export const hpaV2: ResourceDef = simpleKind({
  ...base,
  version: 'v2',
  extra: {
    defaults: (o) => {
      const spec = obj(o.spec);
      spec.minReplicas ??= 1;
      if (!Array.isArray(spec.metrics) || spec.metrics.length === 0) spec.metrics = [cpuMetric(80)];
      o.spec = spec;
    },
    prepareForCreate: (o) => {
      o.status = { currentReplicas: 0, desiredReplicas: 0 };
    },
    validate,
    table: printer,
  },
});

export const hpaV1: ResourceDef = simpleKind({
  ...base,
  version: 'v1',
  extra: {
    storage: { group: 'autoscaling', plural: 'horizontalpodautoscalers' },
    fromStorage: v2ToV1,
    toStorage: v1ToV2,
    defaults: (o) => {
      const spec = obj(o.spec);
      spec.minReplicas ??= 1;
      o.spec = spec;
    },
    prepareForCreate: (o) => {
      o.status = { currentReplicas: 0, desiredReplicas: 0 };
    },
    validate,
    table: printer,
  },
});
