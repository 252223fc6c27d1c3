// LimitRange as pure functions for the API server's admission of pods and PVCs: fill in default
// requests/limits (recording what was set in the kubernetes.io/limit-ranger annotation, as
// upstream), then check min / max / maxLimitRequestRatio per Container, per Pod and per
// PersistentVolumeClaim. The caller answers 403 `<res> "<name>" is forbidden: [msg, msg]`.
import type { KubeObject } from '../../client/types.ts';
import { formatMilli, parseMilli, styleOf } from './quantity.ts';
import { podCompute } from './usage.ts';

type Quantities = Record<string, string | number>;

interface LimitRangeItem {
  type: 'Container' | 'Pod' | 'PersistentVolumeClaim' | string;
  min?: Quantities;
  max?: Quantities;
  default?: Quantities;
  defaultRequest?: Quantities;
  maxLimitRequestRatio?: Quantities;
}

interface Container {
  name: string;
  resources?: { requests?: Quantities; limits?: Quantities };
}

const itemsOf = (lr: KubeObject): LimitRangeItem[] => ((lr.spec ?? {}) as { limits?: LimitRangeItem[] }).limits ?? [];

/** Returns a copy of `pod` with Container defaults from every LimitRange applied. */
export function applyLimitRangeDefaults(limitRanges: readonly KubeObject[], pod: KubeObject): KubeObject {
  const out = structuredClone(pod);
  const spec = (out.spec ?? {}) as { containers?: Container[]; initContainers?: Container[] };
  const setRequests = new Map<string, Set<string>>();
  const setLimits = new Map<string, Set<string>>();
  const note = (m: Map<string, Set<string>>, c: string, r: string) => {
    if (!m.has(c)) m.set(c, new Set());
    m.get(c)!.add(r);
  };
  for (const lr of limitRanges) {
    for (const item of itemsOf(lr)) {
      if (item.type !== 'Container') continue;
      // Upstream's LimitRange defaulting: default limit falls back to max, default request to the default limit.
      const defLimit: Quantities = { ...(item.max ?? {}), ...(item.default ?? {}) };
      const defRequest: Quantities = { ...defLimit, ...(item.defaultRequest ?? {}) };
      for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
        const res = (c.resources ??= {});
        for (const [r, v] of Object.entries(defLimit)) {
          if (res.limits?.[r] === undefined) {
            (res.limits ??= {})[r] = v;
            note(setLimits, c.name, r);
          }
        }
        for (const [r, v] of Object.entries(defRequest)) {
          if (res.requests?.[r] === undefined) {
            // A container that states only a limit gets that as its request (core defaulting).
            (res.requests ??= {})[r] = res.limits?.[r] !== undefined && !setLimits.get(c.name)?.has(r) ? res.limits[r]! : v;
            note(setRequests, c.name, r);
          }
        }
      }
    }
  }
  if (setRequests.size || setLimits.size) {
    const parts: string[] = [];
    for (const [c, rs] of setRequests) parts.push(`${[...rs].join(', ')} request for container ${c}`);
    for (const [c, rs] of setLimits) parts.push(`${[...rs].join(', ')} limit for container ${c}`);
    out.metadata.annotations = { ...(out.metadata.annotations ?? {}), 'kubernetes.io/limit-ranger': `LimitRanger plugin set: ${parts.join('; ')}` };
  }
  return out;
}

/** Violations of the LimitRanges by a pod or PVC (`kind` "Pod" or "PersistentVolumeClaim"); empty = admitted. */
export function checkLimitRange(limitRanges: readonly KubeObject[], kind: 'Pod' | 'PersistentVolumeClaim', obj: KubeObject): string[] {
  const errs: string[] = [];
  for (const lr of limitRanges) {
    for (const item of itemsOf(lr)) {
      if (kind === 'PersistentVolumeClaim' && item.type === 'PersistentVolumeClaim') {
        const spec = (obj.spec ?? {}) as { resources?: { requests?: Quantities; limits?: Quantities } };
        errs.push(...checkBounds(item, 'PersistentVolumeClaim', spec.resources?.requests ?? {}, spec.resources?.limits ?? {}, ['storage']));
      }
      if (kind !== 'Pod') continue;
      if (item.type === 'Container') {
        const spec = (obj.spec ?? {}) as { containers?: Container[]; initContainers?: Container[] };
        for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
          errs.push(...checkBounds(item, 'Container', c.resources?.requests ?? {}, c.resources?.limits ?? {}));
        }
      } else if (item.type === 'Pod') {
        const names = new Set([...Object.keys(item.min ?? {}), ...Object.keys(item.max ?? {}), ...Object.keys(item.maxLimitRequestRatio ?? {})]);
        const requests: Quantities = {};
        const limits: Quantities = {};
        for (const r of names) {
          const req = podCompute(obj, 'requests', r);
          const lim = podCompute(obj, 'limits', r);
          if (req > 0) requests[r] = formatMilli(req, styleOf(item.min?.[r] ?? item.max?.[r]));
          if (lim > 0) limits[r] = formatMilli(lim, styleOf(item.max?.[r] ?? item.min?.[r]));
        }
        errs.push(...checkBounds(item, 'Pod', requests, limits));
      }
    }
  }
  return errs;
}

function checkBounds(item: LimitRangeItem, what: string, requests: Quantities, limits: Quantities, only?: string[]): string[] {
  const errs: string[] = [];
  const keep = (r: string) => !only || only.includes(r);
  for (const [r, min] of Object.entries(item.min ?? {}).filter(([r]) => keep(r))) {
    const req = requests[r];
    if (req === undefined) errs.push(`minimum ${r} usage per ${what} is ${min}.  No request is specified`);
    else if (parseMilli(req) < parseMilli(min)) errs.push(`minimum ${r} usage per ${what} is ${min}, but request is ${req}`);
  }
  for (const [r, max] of Object.entries(item.max ?? {}).filter(([r]) => keep(r))) {
    // PVCs are bounded by their request; containers and pods by their limit.
    const v = what === 'PersistentVolumeClaim' ? requests[r] : limits[r];
    const label = what === 'PersistentVolumeClaim' ? 'request' : 'limit';
    if (v === undefined) errs.push(`maximum ${r} usage per ${what} is ${max}.  No ${label} is specified`);
    else if (parseMilli(v) > parseMilli(max)) errs.push(`maximum ${r} usage per ${what} is ${max}, but ${label} is ${v}`);
  }
  for (const [r, ratio] of Object.entries(item.maxLimitRequestRatio ?? {}).filter(([r]) => keep(r))) {
    const req = requests[r];
    const lim = limits[r];
    if (lim === undefined) {
      errs.push(`${r} max limit to request ratio per ${what} is ${ratio}, but no limit is specified`);
      continue;
    }
    if (req === undefined || parseMilli(req) === 0) {
      errs.push(`${r} max limit to request ratio per ${what} is ${ratio}, but no request is specified or request is 0`);
      continue;
    }
    const actual = parseMilli(lim) / parseMilli(req);
    if (actual > parseMilli(ratio) / 1000) errs.push(`${r} max limit to request ratio per ${what} is ${ratio}, but provided ratio is ${actual.toFixed(6)}`);
  }
  return errs;
}
