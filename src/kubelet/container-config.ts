// Pod spec → runtime configs: the sandbox (hostname, DNS, host aliases, host ports) and each
// container (resources, security, spec hash), plus the image pull policy defaulting.
import { createHash } from 'node:crypto';
import { milliValue, intValue } from '../scheduler/quantity.ts';
import type { PortMapping, PullPolicy, Resources, SecurityConfig } from '../runtime/types.ts';
import type { Container, Pod } from './k8s.ts';

/** Upstream's default: Always for ":latest" or an untagged image, IfNotPresent otherwise. */
export function pullPolicyFor(c: Container): PullPolicy {
  if (c.imagePullPolicy === 'Always' || c.imagePullPolicy === 'Never' || c.imagePullPolicy === 'IfNotPresent') return c.imagePullPolicy;
  const image = c.image ?? '';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const tagAt = image.indexOf(':', lastSlash + 1);
  const tag = tagAt < 0 ? '' : image.slice(tagAt + 1);
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Hash of the container spec kept as a label: a different hash (e.g. a new image) restarts it. */
export function containerHash(c: Container): string {
  return createHash('sha256').update(stableStringify(c)).digest('hex').slice(0, 16);
}

export function containerResources(c: Container): Resources {
  const r: Resources = {};
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  // A limit without a request implies the request (API defaulting does the same).
  const cpuReq = req.cpu ?? lim.cpu;
  if (cpuReq !== undefined) r.cpuRequestMillis = milliValue(cpuReq);
  if (lim.cpu !== undefined) r.cpuLimitMillis = milliValue(lim.cpu);
  if (lim.memory !== undefined) r.memoryLimitBytes = intValue(lim.memory);
  return r;
}

export function securityConfig(pod: Pod, c: Container): SecurityConfig | undefined {
  const ps = pod.spec?.securityContext ?? {};
  const cs = c.securityContext ?? {};
  const s: SecurityConfig = {};
  const user = cs.runAsUser ?? ps.runAsUser;
  const group = cs.runAsGroup ?? ps.runAsGroup;
  if (user !== undefined) s.runAsUser = user;
  if (group !== undefined) s.runAsGroup = group;
  const groups = [...(ps.supplementalGroups ?? []), ...(ps.fsGroup !== undefined ? [ps.fsGroup] : [])];
  if (groups.length) s.supplementalGroups = groups;
  if (cs.privileged !== undefined) s.privileged = cs.privileged;
  if (cs.readOnlyRootFilesystem !== undefined) s.readOnlyRootFilesystem = cs.readOnlyRootFilesystem;
  if (cs.allowPrivilegeEscalation !== undefined) s.allowPrivilegeEscalation = cs.allowPrivilegeEscalation;
  if (cs.capabilities?.add?.length) s.capAdd = cs.capabilities.add;
  if (cs.capabilities?.drop?.length) s.capDrop = cs.capabilities.drop;
  return Object.keys(s).length ? s : undefined;
}

export function portMappings(pod: Pod): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({
        containerPort: p.containerPort,
        hostPort: p.hostPort,
        protocol: (p.protocol ?? 'TCP') as PortMapping['protocol'],
        ...(p.hostIP ? { hostIP: p.hostIP } : {}),
      });
    }
  }
  return out;
}

/** The pod's hostname (spec.hostname or the pod name, cut to a DNS label) and its FQDN domain. */
export function podHostname(pod: Pod, clusterDomain: string): { hostname: string; hostDomain?: string } {
  const hostname = (pod.spec?.hostname || pod.metadata?.name || 'pod').slice(0, 63).replace(/[-.]+$/, '');
  const sub = pod.spec?.subdomain;
  return sub ? { hostname, hostDomain: `${sub}.${pod.metadata?.namespace ?? 'default'}.svc.${clusterDomain}` } : { hostname };
}
