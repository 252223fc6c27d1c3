// Which resolvers the cluster DNS forwards to: the host's, minus loopback stubs that pods could
// never reach and that would loop back into us.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

export interface Upstream {
  host: string;
  port: number;
}

export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (!m?.[1]) continue;
    const addr = m[1].replace(/%.*$/, ''); // drop an IPv6 zone index
    if (isIP(addr)) out.push(addr);
  }
  return out;
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

/**
 * Read the host's upstream resolvers. A resolv.conf that only names a local stub (systemd-resolved's
 * 127.0.0.53, dnsmasq on 127.0.0.1) is replaced by the stub's own upstream list when systemd writes it.
 */
export function hostUpstreams(
  files: { resolvConf?: string; systemdResolvConf?: string } = {},
  read: (path: string) => string | undefined = (p) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  },
): Upstream[] {
  const main = parseResolvConf(read(files.resolvConf ?? '/etc/resolv.conf') ?? '');
  let servers = main.filter((ip) => !isLoopback(ip));
  if (servers.length === 0 && main.length > 0) {
    servers = parseResolvConf(read(files.systemdResolvConf ?? '/run/systemd/resolve/resolv.conf') ?? '').filter(
      (ip) => !isLoopback(ip),
    );
  }
  return servers.map((host) => ({ host, port: 53 }));
}
