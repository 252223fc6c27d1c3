// ResourceQuota admission as a pure function for the API server to call on create: given the
// namespace's quotas (with status.used from the quota controller, or fresher usage the caller
// tracks), refuse an object that would go over `spec.hard`. The caller answers 403 Forbidden with
// `<resource> "<name>" is forbidden: <message>`, and should add the object's usage to the quota's
// status.used right away (as upstream does) so that quick successive creates are counted.
import type { KubeObject } from '../../client/types.ts';
import { formatMilli, parseMilli, styleOf, type ResourceList } from './quantity.ts';
import { matchesScopes, podContainers, usageFor, type GroupResource } from './usage.ts';

/** Compute resources a pod must state when a quota limits them (upstream: "must specify ..."). */
const MUST_SPECIFY = ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory', 'cpu', 'memory', 'requests.ephemeral-storage', 'limits.ephemeral-storage', 'ephemeral-storage'];

/** The usage `obj` would add to each resource limited by `quota` (only names it counts). */
export function quotaDelta(quota: KubeObject, gr: GroupResource, obj: KubeObject): Map<string, number> {
  const hard = ((quota.spec ?? {}) as { hard?: ResourceList }).hard ?? {};
  const out = new Map<string, number>();
  if (!matchesScopes(quota, gr, obj)) return out;
  for (const name of Object.keys(hard)) {
    const v = usageFor(name, gr, obj);
    if (v !== undefined) out.set(name, v);
  }
  return out;
}

/**
 * The reason to refuse creating `newObject` (of group/resource `gr`) under `quotas`, or undefined.
 * `usage` overrides a quota's status.used by quota name (e.g. usage the API server has charged but
 * the controller has not yet reported).
 */
export function checkQuota(quotas: readonly KubeObject[], usage: ReadonlyMap<string, ResourceList> | undefined, newObject: KubeObject, gr: GroupResource): string | undefined {
  const sorted = [...quotas].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  for (const quota of sorted) {
    const name = quota.metadata.name!;
    const hard = ((quota.spec ?? {}) as { hard?: ResourceList }).hard ?? {};
    const delta = quotaDelta(quota, gr, newObject);
    if (delta.size === 0) continue;

    if (gr.group === '' && gr.resource === 'pods') {
      const missing = missingCompute(newObject, [...delta.keys()]);
      if (missing) return `failed quota: ${name}: must specify ${missing}`;
    }
    const status = (quota.status ?? {}) as { hard?: ResourceList; used?: ResourceList };
    const used = usage?.get(name) ?? status.used;
    if (!used || !status.hard && !usage?.has(name)) {
      return `status unknown for quota: ${name}, resources: ${[...delta.keys()].sort().join(',')}`;
    }
    const exceeded = [...delta.keys()].filter((k) => {
      const d = delta.get(k)!;
      if (d <= 0) return false;
      return parseMilli(used[k] ?? '0') + d > parseMilli(hard[k]!);
    }).sort();
    if (exceeded.length > 0) {
      const list = (f: (k: string) => string) => exceeded.map((k) => `${k}=${f(k)}`).join(',');
      return (
        `exceeded quota: ${name}, ` +
        `requested: ${list((k) => formatMilli(delta.get(k)!, styleOf(hard[k])))}, ` +
        `used: ${list((k) => formatMilli(parseMilli(used[k] ?? '0'), styleOf(hard[k])))}, ` +
        `limited: ${list((k) => String(hard[k]))}`
      );
    }
  }
  return undefined;
}

/** "limits.cpu for: app; requests.memory for: app,sidecar" for limited compute names containers leave out. */
function missingCompute(pod: KubeObject, limited: string[]): string | undefined {
  const { containers, init } = podContainers(pod);
  const parts: string[] = [];
  for (const name of limited.filter((n) => MUST_SPECIFY.includes(n)).sort()) {
    const [kind, res] = name.includes('.') ? (name.split('.', 2) as ['requests' | 'limits', string]) : (['requests', name] as const);
    const without = [...init, ...containers].filter((c) => c.resources?.[kind]?.[res] === undefined).map((c) => c.name);
    if (without.length) parts.push(`${name} for: ${without.join(',')}`);
  }
  return parts.length ? parts.join('; ') : undefined;
}
