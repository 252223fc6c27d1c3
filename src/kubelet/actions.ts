// The handlers probes and lifecycle hooks share: exec in the container, an HTTP GET or a TCP
// connect to the pod (through NodeRuntime.portForward, so the fake runtime works the same and the
// Docker one dials the pod IP on our own bridge), and sleep. Failure texts follow upstream's.
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { NodeRuntime } from '../runtime/types.ts';
import type { Container } from './k8s.ts';

export interface ActionResult {
  ok: boolean;
  /** Output (exec) or the failure text shown in Unhealthy / FailedPostStartHook events. */
  output: string;
}

export interface ActionTarget {
  runtime: NodeRuntime;
  containerId: string;
  sandboxId: string;
  podIP: string;
  container: Container;
}

const MAX_OUTPUT = 10 * 1024;

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export async function runExec(t: ActionTarget, cmd: string[], timeoutMs: number): Promise<ActionResult> {
  let session;
  try {
    session = await t.runtime.exec(t.containerId, { cmd, stdout: true, stderr: true });
  } catch (err) {
    return { ok: false, output: (err as Error).message };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const collect = (d: Buffer) => {
    if (size < MAX_OUTPUT) chunks.push(d);
    size += d.length;
  };
  session.stdout?.on('data', collect);
  session.stderr?.on('data', collect);
  const code = await withTimeout(session.exitCode, timeoutMs, () => {
    session.close();
    return -1;
  });
  const output = Buffer.concat(chunks).toString('utf8').slice(0, MAX_OUTPUT);
  if (code === -1) return { ok: false, output: `command ${JSON.stringify(cmd.join(' '))} timed out` };
  return { ok: code === 0, output: code === 0 ? output : output || `command ${JSON.stringify(cmd.join(' '))} exited with ${code}` };
}

/** A named port ("http") resolves through the container's ports, as upstream does. */
export function resolvePort(port: number | string | undefined, container: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

async function dial(t: ActionTarget, port: number): Promise<Duplex> {
  return t.runtime.portForward(t.sandboxId, port);
}

function refused(t: ActionTarget, port: number, err: unknown): string {
  const msg = (err as Error).message ?? String(err);
  return /ECONNREFUSED|refused/i.test(msg) ? `dial tcp ${t.podIP}:${port}: connect: connection refused` : `dial tcp ${t.podIP}:${port}: ${msg}`;
}

export async function runTcp(t: ActionTarget, portSpec: number | string, timeoutMs: number): Promise<ActionResult> {
  const port = resolvePort(portSpec, t.container);
  if (port === undefined) return { ok: false, output: `unknown port ${String(portSpec)}` };
  const attempt = dial(t, port).then(
    (conn) => {
      conn.destroy();
      return { ok: true, output: '' };
    },
    (err: unknown) => ({ ok: false, output: refused(t, port, err) }),
  );
  return withTimeout(attempt, timeoutMs, () => ({ ok: false, output: `dial tcp ${t.podIP}:${port}: i/o timeout` }));
}

export interface HttpGetSpec {
  path?: string;
  port: number | string;
  host?: string;
  scheme?: string;
  httpHeaders?: Array<{ name: string; value: string }>;
}

/** A minimal HTTP/1.1 GET over the stream: enough for a status code, without an agent or pool. */
function getOver(conn: Duplex, host: string, path: string, headers: Array<{ name: string; value: string }>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const lines = [`GET ${path} HTTP/1.1`];
    const names = new Set(headers.map((h) => h.name.toLowerCase()));
    if (!names.has('host')) lines.push(`Host: ${host}`);
    if (!names.has('user-agent')) lines.push('User-Agent: kube-probe/1.32');
    if (!names.has('accept')) lines.push('Accept: */*');
    for (const h of headers) lines.push(`${h.name}: ${h.value}`);
    lines.push('Connection: close', '', '');
    let buf = Buffer.alloc(0);
    const finish = () => {
      const text = buf.toString('latin1');
      const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(text);
      if (!m) return reject(new Error('malformed HTTP response'));
      const bodyAt = text.indexOf('\r\n\r\n');
      resolve({ status: Number(m[1]), body: bodyAt >= 0 ? text.slice(bodyAt + 4, bodyAt + 4 + MAX_OUTPUT) : '' });
    };
    conn.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      // The status line and headers are all a probe needs; stop reading a long body early.
      if (buf.length > MAX_OUTPUT && buf.includes('\r\n\r\n')) {
        conn.destroy();
        finish();
      }
    });
    conn.once('end', finish);
    conn.once('close', finish);
    conn.once('error', reject);
    conn.write(lines.join('\r\n'));
  });
}

export async function runHttpGet(t: ActionTarget, spec: HttpGetSpec, timeoutMs: number): Promise<ActionResult> {
  const port = resolvePort(spec.port, t.container);
  if (port === undefined) return { ok: false, output: `unknown port ${String(spec.port)}` };
  const scheme = (spec.scheme ?? 'HTTP').toLowerCase();
  const path = spec.path ? (spec.path.startsWith('/') ? spec.path : `/${spec.path}`) : '/';
  const url = `${scheme}://${t.podIP}:${port}${path}`;
  const attempt = (async (): Promise<ActionResult> => {
    let conn: Duplex;
    try {
      conn = await dial(t, port);
    } catch (err) {
      return { ok: false, output: `Get "${url}": ${refused(t, port, err)}` };
    }
    try {
      // Upstream's prober does not verify the pod's certificate.
      const stream = scheme === 'https' ? tlsConnect({ socket: conn as never, rejectUnauthorized: false, servername: spec.host || undefined }) : conn;
      const res = await getOver(stream, spec.host || `${t.podIP}:${port}`, path, spec.httpHeaders ?? []);
      stream.destroy();
      if (res.status >= 200 && res.status < 400) return { ok: true, output: res.body };
      return { ok: false, output: `HTTP probe failed with statuscode: ${res.status}` };
    } catch (err) {
      conn.destroy();
      return { ok: false, output: `Get "${url}": ${(err as Error).message}` };
    }
  })();
  return withTimeout(attempt, timeoutMs, () => ({ ok: false, output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` }));
}

export async function runSleep(seconds: number, signal?: AbortSignal): Promise<ActionResult> {
  await delay(Math.max(0, seconds) * 1000, undefined, signal ? { signal } : undefined).catch(() => {});
  return { ok: true, output: '' };
}
