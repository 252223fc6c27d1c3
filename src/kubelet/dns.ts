// A pod's resolv.conf from its dnsPolicy and dnsConfig, as upstream's kubelet builds it: cluster
// DNS first with the namespace search paths and ndots:5, or the host's, or only what the pod says.
import type { DnsConfig } from '../runtime/types.ts';
import type { Pod, PodSpec } from './k8s.ts';

export interface ClusterDnsSettings {
  clusterDNS: string[];
  clusterDomain: string;
  /** The host's resolv.conf, for dnsPolicy Default (and ClusterFirst pods on the host network). */
  hostResolv?: DnsConfig;
}

const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

export function parseResolvConf(text: string): DnsConfig {
  const out: DnsConfig = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.searches = rest;
    else if (key === 'options') out.options.push(...rest);
  }
  return out;
}

function mergeOptions(base: string[], extra: Array<{ name?: string; value?: string }>): string[] {
  const byName = new Map<string, string>();
  for (const o of base) byName.set(o.split(':')[0]!, o);
  for (const o of extra) if (o.name) byName.set(o.name, o.value !== undefined ? `${o.name}:${o.value}` : o.name);
  return [...byName.values()];
}

/** undefined = leave the engine's default resolv.conf (dnsPolicy Default without a host file). */
export function podDnsConfig(pod: Pod, settings: ClusterDnsSettings): DnsConfig | undefined {
  const spec: PodSpec = pod.spec ?? { containers: [] };
  let policy = spec.dnsPolicy ?? 'ClusterFirst';
  // Host-network pods with ClusterFirst resolve like the host; ClusterFirstWithHostNet opts back in.
  if (policy === 'ClusterFirst' && spec.hostNetwork) policy = 'Default';
  if (policy === 'ClusterFirstWithHostNet') policy = 'ClusterFirst';
  let base: DnsConfig | undefined;
  if (policy === 'ClusterFirst' && settings.clusterDNS.length > 0) {
    const ns = pod.metadata?.namespace ?? 'default';
    const d = settings.clusterDomain;
    base = {
      nameservers: [...settings.clusterDNS],
      searches: [`${ns}.svc.${d}`, `svc.${d}`, d, ...(settings.hostResolv?.searches ?? [])],
      options: ['ndots:5'],
    };
  } else if (policy === 'None') {
    base = { nameservers: [], searches: [], options: [] };
  } else {
    base = settings.hostResolv ? structuredClone(settings.hostResolv) : undefined;
  }
  const extra = spec.dnsConfig;
  if (!extra) return base;
  base ??= { nameservers: [], searches: [], options: [] };
  const uniq = (xs: string[]) => [...new Set(xs)];
  return {
    nameservers: uniq([...base.nameservers, ...(extra.nameservers ?? [])]).slice(0, MAX_NAMESERVERS),
    searches: uniq([...base.searches, ...(extra.searches ?? [])]).slice(0, MAX_SEARCHES),
    options: mergeOptions(base.options, extra.options ?? []),
  };
}
