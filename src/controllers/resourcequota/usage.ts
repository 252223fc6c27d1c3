// What one object contributes to each quota resource name (pods, requests.cpu, count/deployments.apps,
// services.nodeports, ...), and which objects a quota's scopes select. Shared by the quota
// controller (status.used) and the admission check, so both count the same way.
import type { KubeObject } from '../../client/types.ts';
import { parseMilli } from './quantity.ts';

export interface GroupResource {
  group: string;
  resource: string;
}

interface Container {
  name: string;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
}

const COMPUTE = ['cpu', 'memory', 'ephemeral-storage'];

export function podContainers(pod: KubeObject): { containers: Container[]; init: Container[] } {
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[] };
  return { containers: spec.containers ?? [], init: spec.initContainers ?? [] };
}

/** Effective pod request/limit of a resource: max(sum of app containers, largest init container) + overhead. */
export function podCompute(pod: KubeObject, kind: 'requests' | 'limits', resource: string): number {
  const { containers, init } = podContainers(pod);
  const sum = containers.reduce((a, c) => a + milliOrZero(c.resources?.[kind]?.[resource]), 0);
  const initMax = init.reduce((a, c) => Math.max(a, milliOrZero(c.resources?.[kind]?.[resource])), 0);
  const overhead = milliOrZero(((pod.spec as { overhead?: Record<string, string> } | undefined)?.overhead ?? {})[resource]);
  return Math.max(sum, initMax) + overhead;
}

function milliOrZero(v: string | number | undefined): number {
  return v === undefined ? 0 : parseMilli(v);
}

export function isTerminalPod(pod: KubeObject): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

export function isBestEffort(pod: KubeObject): boolean {
  const { containers, init } = podContainers(pod);
  return [...containers, ...init].every((c) => Object.keys(c.resources?.requests ?? {}).length === 0 && Object.keys(c.resources?.limits ?? {}).length === 0);
}

/** Whether `obj` of `gr` is selected by the quota's scopes (scopes only narrow pods). */
export function matchesScopes(quota: KubeObject, gr: GroupResource, obj: KubeObject): boolean {
  const spec = (quota.spec ?? {}) as { scopes?: string[]; scopeSelector?: { matchExpressions?: Array<{ scopeName: string; operator: string; values?: string[] }> } };
  const scopes = [...(spec.scopes ?? []).map((s) => ({ scopeName: s, operator: 'Exists', values: [] as string[] })), ...(spec.scopeSelector?.matchExpressions ?? [])];
  if (scopes.length === 0) return true;
  const isPod = gr.group === '' && gr.resource === 'pods';
  for (const s of scopes) {
    if (!isPod) return false;
    const podSpec = (obj.spec ?? {}) as { activeDeadlineSeconds?: number; priorityClassName?: string };
    let ok: boolean;
    switch (s.scopeName) {
      case 'Terminating':
        ok = podSpec.activeDeadlineSeconds !== undefined && podSpec.activeDeadlineSeconds !== null;
        break;
      case 'NotTerminating':
        ok = podSpec.activeDeadlineSeconds === undefined || podSpec.activeDeadlineSeconds === null;
        break;
      case 'BestEffort':
        ok = isBestEffort(obj);
        break;
      case 'NotBestEffort':
        ok = !isBestEffort(obj);
        break;
      case 'PriorityClass': {
        const pc = podSpec.priorityClassName ?? '';
        const values = s.values ?? [];
        ok = s.operator === 'In' ? values.includes(pc) : s.operator === 'NotIn' ? !values.includes(pc) : s.operator === 'DoesNotExist' ? pc === '' : pc !== '';
        break;
      }
      default:
        ok = false;
    }
    if (!ok) return false;
  }
  return true;
}

/** The resources (group/resource) whose objects a quota resource name counts. */
export function resourcesCountedBy(name: string): GroupResource[] {
  if (name.startsWith('count/')) {
    const rest = name.slice('count/'.length);
    const dot = rest.indexOf('.');
    return [dot < 0 ? { group: '', resource: rest } : { group: rest.slice(dot + 1), resource: rest.slice(0, dot) }];
  }
  if (name === 'pods' || COMPUTE.includes(name) || /^(requests|limits)\./.test(name) && name !== 'requests.storage') return [{ group: '', resource: 'pods' }];
  if (name.startsWith('services')) return [{ group: '', resource: 'services' }];
  if (name === 'persistentvolumeclaims' || name === 'requests.storage' || name.endsWith('.storageclass.storage.k8s.io/requests.storage') || name.endsWith('.storageclass.storage.k8s.io/persistentvolumeclaims')) {
    return [{ group: '', resource: 'persistentvolumeclaims' }];
  }
  if (['secrets', 'configmaps', 'replicationcontrollers', 'resourcequotas'].includes(name)) return [{ group: '', resource: name }];
  return [];
}

/** What `obj` (of `gr`) adds to quota resource `name`, in milli-units; undefined = not counted. */
export function usageFor(name: string, gr: GroupResource, obj: KubeObject): number | undefined {
  if (!resourcesCountedBy(name).some((r) => r.group === gr.group && r.resource === gr.resource)) return undefined;
  if (name.startsWith('count/')) return 1000;
  if (gr.resource === 'pods') {
    if (isTerminalPod(obj)) return 0;
    if (name === 'pods') return 1000;
    if (COMPUTE.includes(name)) return podCompute(obj, 'requests', name);
    const [kind, res] = name.split('.', 2) as ['requests' | 'limits', string];
    return podCompute(obj, kind, name.slice(kind.length + 1) || res);
  }
  if (gr.resource === 'services') {
    const spec = (obj.spec ?? {}) as { type?: string; ports?: unknown[] };
    if (name === 'services') return 1000;
    if (name === 'services.loadbalancers') return spec.type === 'LoadBalancer' ? 1000 : 0;
    if (name === 'services.nodeports') return spec.type === 'NodePort' || spec.type === 'LoadBalancer' ? (spec.ports?.length ?? 0) * 1000 : 0;
    return undefined;
  }
  if (gr.resource === 'persistentvolumeclaims') {
    const spec = (obj.spec ?? {}) as { storageClassName?: string; resources?: { requests?: Record<string, string> } };
    const sc = name.includes('.storageclass.storage.k8s.io/') ? name.slice(0, name.indexOf('.storageclass.storage.k8s.io/')) : undefined;
    if (sc !== undefined && spec.storageClassName !== sc) return 0;
    if (name.endsWith('persistentvolumeclaims')) return 1000;
    const req = spec.resources?.requests?.storage;
    return req === undefined ? 0 : parseMilli(req);
  }
  return 1000;
}
