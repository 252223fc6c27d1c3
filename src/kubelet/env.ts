// A container's environment as upstream builds it: envFrom (with prefixes), then env in order with
// $(VAR) expansion over what came before and the service variables, then the service link
// variables (<SVC>_SERVICE_HOST, <SVC>_PORT_80_TCP_ADDR, ...). A missing, non-optional reference
// is a ContainerConfigError: the container waits with CreateContainerConfigError.
import { parseQuantity } from '../scheduler/quantity.ts';
import type { EnvVar } from '../runtime/types.ts';
import { expandVars, mappingFrom } from './expand.ts';
import type { ConfigMap, Container, Pod, Secret, Service } from './k8s.ts';

export class ContainerConfigError extends Error {
  override name = 'ContainerConfigError';
}

export interface ObjectSource {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  /** Services of a namespace (the informer cache). */
  services(namespace: string): Service[];
}

export interface PodRuntimeFacts {
  hostIP: string;
  podIP: string;
  podIPs: string[];
  /** The node's allocatable, which limits default to in resourceFieldRef. */
  nodeAllocatable: Record<string, string>;
}

const MASTER_SERVICES = new Set(['kubernetes']);

function serviceEnvName(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/** Upstream's service link variables for the services a pod sees. */
export function serviceEnv(namespace: string, enableServiceLinks: boolean, services: Service[]): Map<string, string> {
  const chosen = new Map<string, Service>();
  for (const svc of services) {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None' || svc.spec?.type === 'ExternalName') continue;
    const name = svc.metadata?.name ?? '';
    if (svc.metadata?.namespace === 'default' && MASTER_SERVICES.has(name)) {
      // The API's own service is always visible, even with service links off.
      if (!chosen.has(name)) chosen.set(name, svc);
    } else if (svc.metadata?.namespace === namespace && enableServiceLinks) {
      chosen.set(name, svc);
    }
  }
  const env = new Map<string, string>();
  for (const svc of [...chosen.values()].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))) {
    const prefix = serviceEnvName(svc.metadata?.name ?? '');
    const ip = svc.spec!.clusterIP!;
    const ports = svc.spec?.ports ?? [];
    env.set(`${prefix}_SERVICE_HOST`, ip);
    if (ports[0]) env.set(`${prefix}_SERVICE_PORT`, String(ports[0].port));
    for (const p of ports) if (p.name) env.set(`${prefix}_SERVICE_PORT_${serviceEnvName(p.name)}`, String(p.port));
    ports.forEach((p, i) => {
      const proto = (p.protocol ?? 'TCP').toLowerCase();
      const url = `${proto}://${ip}:${p.port}`;
      if (i === 0) env.set(`${prefix}_PORT`, url);
      const portPrefix = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
      env.set(portPrefix, url);
      env.set(`${portPrefix}_PROTO`, proto);
      env.set(`${portPrefix}_PORT`, String(p.port));
      env.set(`${portPrefix}_ADDR`, ip);
    });
  }
  return env;
}

/** metadata.labels['x'] → ['labels', 'x']. */
function subscript(path: string): [string, string] | undefined {
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path);
  return m ? [m[1]!, m[2]!] : undefined;
}

export function fieldRefValue(pod: Pod, path: string, facts: PodRuntimeFacts): string {
  const sub = subscript(path);
  if (sub) {
    const map = sub[0] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[sub[1]] ?? '';
  }
  switch (path) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
    case 'metadata.annotations': {
      // Downward API files render whole maps as sorted key="value" lines.
      const map = (path === 'metadata.labels' ? pod.metadata?.labels : pod.metadata?.annotations) ?? {};
      return Object.keys(map)
        .sort()
        .map((k) => `${k}=${JSON.stringify(map[k])}`)
        .join('\n');
    }
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return facts.hostIP;
    case 'status.hostIPs':
      return facts.hostIP;
    case 'status.podIP':
      return facts.podIP;
    case 'status.podIPs':
      return facts.podIPs.join(',');
    default:
      throw new ContainerConfigError(`unsupported fieldRef path "${path}"`);
  }
}

/** Value of a resourceFieldRef (limits.cpu, requests.memory, ...) in units of the divisor, rounded up. */
export function resourceFieldValue(pod: Pod, containerName: string | undefined, resource: string, divisor: string | number | undefined, facts: PodRuntimeFacts): string {
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const c = containerName ? all.find((x) => x.name === containerName) : undefined;
  if (!c) throw new ContainerConfigError(`container "${containerName ?? ''}" not found for resourceFieldRef ${resource}`);
  const [kind, name] = resource.split('.') as [string, string | undefined];
  if (!name || (kind !== 'limits' && kind !== 'requests')) throw new ContainerConfigError(`unsupported resourceFieldRef "${resource}"`);
  const fromSpec = (kind === 'limits' ? c.resources?.limits : c.resources?.requests)?.[name];
  // Unset limits are the node's allocatable (upstream's MergeContainerResourceLimits).
  const raw = fromSpec ?? (kind === 'limits' ? facts.nodeAllocatable[name] : undefined) ?? '0';
  const value = parseQuantity(raw);
  const div = parseQuantity(divisor ?? '1') || 1;
  return String(Math.ceil(Math.round((value / div) * 1e6) / 1e6));
}

async function configMapOrSecret(sources: ObjectSource, kind: 'configmap' | 'secret', namespace: string, name: string): Promise<Record<string, string> | undefined> {
  if (kind === 'configmap') {
    const cm = await sources.configMap(namespace, name);
    if (!cm) return undefined;
    const out: Record<string, string> = { ...(cm.data ?? {}) };
    for (const [k, v] of Object.entries(cm.binaryData ?? {})) out[k] ??= Buffer.from(v, 'base64').toString('utf8');
    return out;
  }
  const s = await sources.secret(namespace, name);
  if (!s) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = v;
  return out;
}

const kindWord = { configmap: 'ConfigMap', secret: 'Secret' } as const;

/** The container's final environment, in the order Docker receives it. */
export async function resolveEnv(pod: Pod, container: Container, sources: ObjectSource, facts: PodRuntimeFacts): Promise<EnvVar[]> {
  const ns = pod.metadata?.namespace ?? 'default';
  const services = [...sources.services(ns), ...(ns === 'default' ? [] : sources.services('default'))];
  const svcEnv = serviceEnv(ns, pod.spec?.enableServiceLinks !== false, services);
  const env = new Map<string, string>();

  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const kind = from.configMapRef ? 'configmap' : 'secret';
    const data = await configMapOrSecret(sources, kind, ns, ref.name ?? '');
    if (!data) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${kind} "${ref.name ?? ''}" not found`);
    }
    for (const [k, v] of Object.entries(data)) {
      // Keys that cannot be variable names are skipped, as upstream does (with an event there).
      if (!k || k.includes('=')) continue;
      env.set(`${from.prefix ?? ''}${k}`, v);
    }
  }

  for (const e of container.env ?? []) {
    let value: string | undefined;
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) value = fieldRefValue(pod, vf.fieldRef.fieldPath, facts);
      else if (vf.resourceFieldRef) value = resourceFieldValue(pod, vf.resourceFieldRef.containerName || container.name, vf.resourceFieldRef.resource, vf.resourceFieldRef.divisor, facts);
      else if (vf.configMapKeyRef || vf.secretKeyRef) {
        const kind = vf.configMapKeyRef ? 'configmap' : 'secret';
        const ref = (vf.configMapKeyRef ?? vf.secretKeyRef)!;
        const data = await configMapOrSecret(sources, kind, ns, ref.name ?? '');
        if (!data) {
          if (ref.optional) continue;
          throw new ContainerConfigError(`${kind} "${ref.name ?? ''}" not found`);
        }
        value = data[ref.key];
        if (value === undefined) {
          if (ref.optional) continue;
          throw new ContainerConfigError(`couldn't find key ${ref.key} in ${kindWord[kind]} ${ns}/${ref.name ?? ''}`);
        }
      }
    } else {
      value = expandVars(e.value ?? '', mappingFrom(svcEnv, env));
    }
    env.set(e.name, value ?? '');
  }

  for (const [k, v] of svcEnv) if (!env.has(k)) env.set(k, v);
  return [...env].map(([name, value]) => ({ name, value }));
}

/** command/args with $(VAR) expanded over the container's final environment. */
export function expandCommand(words: string[] | undefined, env: EnvVar[]): string[] | undefined {
  if (!words) return undefined;
  const map = new Map(env.map((e) => [e.name, e.value]));
  return words.map((w) => expandVars(w, (n) => map.get(n)));
}
