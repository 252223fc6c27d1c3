// Running iptables-save / iptables-restore, on the same backend (nft or legacy) as Docker uses:
// rules in the other backend would sit in tables the kernel evaluates separately from Docker's,
// and mixing the two makes ordering between them undefined.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type IptablesBackend = 'nft' | 'legacy';

export interface IptablesRunner {
  readonly backend: IptablesBackend;
  /** iptables-save output; all tables unless one is named. */
  save(opts?: { table?: string; counters?: boolean }): Promise<string>;
  /** Feed iptables-restore; with noflush (the default) only the chains named in the input change. */
  restore(input: string, opts?: { noflush?: boolean }): Promise<void>;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type Exec = (argv: string[], input?: string, timeoutMs?: number) => Promise<ExecResult>;

/** Run a command without a shell, with a deadline; ENOENT becomes exit code 127. */
export const execCommand: Exec = (argv, input, timeoutMs = 30_000) =>
  new Promise((resolve) => {
    const [cmd, ...args] = argv;
    if (!cmd) return resolve({ code: 127, stdout: '', stderr: 'empty command' });
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: err.code === 'ENOENT' ? 127 : 1, stdout, stderr: stderr + err.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the process may exit before reading all input
    child.stdin.end(input ?? '');
  });

export interface RunnerOptions {
  backend: IptablesBackend;
  /** Run inside this network namespace (`ip netns exec`): tests, never the host's own rules. */
  netns?: string;
  /** Seconds iptables-restore waits for the xtables lock (`-w`). */
  lockWaitSeconds?: number;
  exec?: Exec;
}

export class IptablesError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export function createIptablesRunner(opts: RunnerOptions): IptablesRunner {
  const exec = opts.exec ?? execCommand;
  const wrap = (argv: string[]) => (opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : argv);
  const tool = (what: 'save' | 'restore') => `iptables-${opts.backend}-${what}`;
  return {
    backend: opts.backend,
    async save(o = {}) {
      const argv = [tool('save')];
      if (o.table) argv.push('-t', o.table);
      if (o.counters) argv.push('-c');
      const r = await exec(wrap(argv));
      if (r.code !== 0) throw new IptablesError(`${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`, r.stderr);
      return r.stdout;
    },
    async restore(input, o = {}) {
      const argv = [tool('restore'), '-w', String(opts.lockWaitSeconds ?? 5)];
      if (o.noflush ?? true) argv.push('--noflush');
      const r = await exec(wrap(argv), input);
      if (r.code !== 0) throw new IptablesError(`${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`, r.stderr);
    },
  };
}

function ruleCount(save: string): number {
  return save.split('\n').filter((l) => l.startsWith('-A ')).length;
}

export interface BackendDetection {
  backend: IptablesBackend;
  reason: string;
}

/**
 * Pick the backend Docker uses: the one holding Docker's chains; else the one with more rules
 * (the heuristic of Kubernetes' iptables-wrapper); else what the `iptables` command itself is.
 * Only reads (iptables-save), never changes anything.
 */
export async function detectIptablesBackend(exec: Exec = execCommand): Promise<BackendDetection> {
  const [nft, legacy] = await Promise.all([exec(['iptables-nft-save']), exec(['iptables-legacy-save'])]);
  const nftText = nft.code === 0 ? nft.stdout : '';
  const legacyText = legacy.code === 0 ? legacy.stdout : '';
  const hasDocker = (t: string) => /^:DOCKER /m.test(t);
  if (nft.code === 127 && legacy.code !== 127) return { backend: 'legacy', reason: 'only iptables-legacy is installed' };
  if (legacy.code === 127 && nft.code !== 127) return { backend: 'nft', reason: 'only iptables-nft is installed' };
  if (hasDocker(nftText) && !hasDocker(legacyText)) return { backend: 'nft', reason: "Docker's chains are in nf_tables" };
  if (hasDocker(legacyText) && !hasDocker(nftText)) return { backend: 'legacy', reason: "Docker's chains are in legacy xtables" };
  const n = ruleCount(nftText);
  const l = ruleCount(legacyText);
  if (n !== l) return n > l ? { backend: 'nft', reason: `nf_tables holds more rules (${n} vs ${l})` } : { backend: 'legacy', reason: `legacy holds more rules (${l} vs ${n})` };
  const version = await exec(['iptables', '--version']);
  if (/legacy/.test(version.stdout)) return { backend: 'legacy', reason: `no rules anywhere; ${version.stdout.trim()}` };
  return { backend: 'nft', reason: `no rules anywhere; ${version.stdout.trim() || 'defaulting to nft'}` };
}

/** The interface of the IPv4 default route in /proc/net/route text (the first, lowest metric). */
export function defaultRouteInterface(procNetRoute: string): string | undefined {
  let best: { iface: string; metric: number } | undefined;
  for (const line of procNetRoute.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, , , , , metric, mask] = f;
    if (dest !== '00000000' || mask !== '00000000' || !iface) continue;
    const m = Number(metric);
    if (!best || m < best.metric) best = { iface, metric: m };
  }
  return best?.iface;
}

export function hostDefaultRouteInterface(): string | undefined {
  try {
    return defaultRouteInterface(readFileSync('/proc/net/route', 'utf8'));
  } catch {
    return undefined;
  }
}
