// The contents of a pod's /etc/hosts and /etc/resolv.conf, laid out as the kubelet writes them.
import type { DnsConfig, HostAlias, SandboxConfig } from './types.ts';

export function resolvConf(dns: DnsConfig): string {
  const lines = dns.nameservers.map((ns) => `nameserver ${ns}`);
  if (dns.searches.length) lines.push(`search ${dns.searches.join(' ')}`);
  if (dns.options.length) lines.push(`options ${dns.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

export function hostsFile(ip: string, hostname: string, hostDomain: string | undefined, aliases: HostAlias[] = []): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    hostDomain ? `${ip}\t${hostname}.${hostDomain}\t${hostname}` : `${ip}\t${hostname}`,
  ];
  if (aliases.length) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of aliases) lines.push(`${a.ip}\t${a.hostnames.join('\t')}`);
  }
  return lines.join('\n') + '\n';
}

/** Path → content of the files the runtime manages for a pod (hosts always, resolv.conf when DNS is set). */
export function podFiles(cfg: SandboxConfig): Map<string, string> {
  const files = new Map<string, string>([
    ['/etc/hosts', hostsFile(cfg.ip, cfg.hostname, cfg.hostDomain, cfg.hostAliases)],
    ['/etc/hostname', cfg.hostname + '\n'],
  ]);
  if (cfg.dns) files.set('/etc/resolv.conf', resolvConf(cfg.dns));
  return files;
}
