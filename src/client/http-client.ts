// The Client over HTTP: to the in-process API server through its loopback Unix socket (bearer
// loopback token, no TLS), or to a remote server over HTTPS (agents). Keep-alive connections, JSON
// bodies, NDJSON watch streams.
import http from 'node:http';
import https from 'node:https';
import readline from 'node:readline';
import {
  ClientError,
  resourcePath,
  type Client,
  type DeleteOptions,
  type KubeObject,
  type ListOptions,
  type ObjectList,
  type PatchOptions,
  type PatchType,
  type ResourceRef,
  type WatchEvent,
  type WatchOptions,
  type WriteOptions,
} from './types.ts';

export type Transport =
  | { kind: 'unix'; socketPath: string; token: string }
  | { kind: 'https'; server: string; caPem: string; certPem?: string; keyPem?: string; token?: string };

export interface HttpClientOptions {
  transport: Transport;
  /** Sent as User-Agent; the API uses its prefix as the default field manager. */
  userAgent: string;
  /** Per-request timeout for non-watch calls (default 30 s). */
  timeoutMs?: number;
}

const patchContentTypes: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

type Query = Record<string, string | number | boolean | undefined>;

function queryString(q: Query): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export class HttpClient implements Client {
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;

  constructor(private readonly opts: HttpClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    const t = opts.transport;
    this.agent =
      t.kind === 'unix'
        ? new http.Agent({ keepAlive: true, maxSockets: 64 })
        : new https.Agent({ keepAlive: true, maxSockets: 64, ca: t.caPem, ...(t.certPem ? { cert: t.certPem, key: t.keyPem } : {}) });
  }

  close(): void {
    this.agent.destroy();
  }

  private requestOptions(method: string, path: string, headers: Record<string, string>): http.RequestOptions {
    const t = this.opts.transport;
    const h: Record<string, string> = { 'user-agent': this.opts.userAgent, accept: 'application/json', ...headers };
    const token = t.token;
    if (token) h.authorization = `Bearer ${token}`;
    if (t.kind === 'unix') return { socketPath: t.socketPath, path, method, headers: h, agent: this.agent };
    const url = new URL(t.server);
    return { host: url.hostname, port: url.port || 443, path, method, headers: h, agent: this.agent };
  }

  private send(req: http.RequestOptions, body?: string): Promise<http.IncomingMessage> {
    const mod = this.opts.transport.kind === 'unix' ? http : https;
    return new Promise((resolve, reject) => {
      const r = mod.request(req, resolve);
      r.on('error', reject);
      if (body !== undefined) r.end(body);
      else r.end();
    });
  }

  /** One JSON request/response; non-2xx answers become ClientError with the server's Status. */
  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> =
      payload === undefined ? {} : { 'content-type': contentType, 'content-length': String(Buffer.byteLength(payload)) };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const res = await this.send({ ...this.requestOptions(method, path, headers), signal: controller.signal }, payload);
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) throw toClientError(status, text);
      return (text ? JSON.parse(text) : undefined) as T;
    } catch (e) {
      if (controller.signal.aborted) throw new ClientError(504, 'Timeout', `${method} ${path}: no answer within ${this.timeoutMs} ms`);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  get<T extends KubeObject>(ref: ResourceRef, name: string, namespace?: string): Promise<T> {
    return this.request('GET', resourcePath(ref, namespace, name));
  }

  list<T extends KubeObject>(ref: ResourceRef, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const { namespace, ...q } = opts;
    return this.request('GET', resourcePath(ref, namespace) + queryString(q as Query));
  }

  create<T extends KubeObject>(ref: ResourceRef, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.request('POST', resourcePath(ref, obj.metadata.namespace) + writeQuery(opts), obj);
  }

  update<T extends KubeObject>(ref: ResourceRef, obj: T, opts: WriteOptions & { subresource?: string } = {}): Promise<T> {
    const name = obj.metadata.name;
    if (!name) throw new Error('update needs metadata.name');
    return this.request('PUT', resourcePath(ref, obj.metadata.namespace, name, opts.subresource) + writeQuery(opts), obj);
  }

  patch<T extends KubeObject>(
    ref: ResourceRef,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: PatchOptions & { namespace?: string; subresource?: string } = {},
  ): Promise<T> {
    const q = { ...writeQueryObject(opts), force: opts.force ? 'true' : undefined };
    return this.request('PATCH', resourcePath(ref, opts.namespace, name, opts.subresource) + queryString(q), patch, patchContentTypes[type]);
  }

  delete(ref: ResourceRef, name: string, opts: DeleteOptions & { namespace?: string } = {}): Promise<KubeObject | undefined> {
    const { namespace, dryRun, ...body } = opts;
    const q = dryRun ? '?dryRun=All' : '';
    return this.request('DELETE', resourcePath(ref, namespace, name) + q, { kind: 'DeleteOptions', apiVersion: 'v1', ...body });
  }

  createSubresource<T = unknown>(ref: ResourceRef, name: string, subresource: string, body: unknown, namespace?: string): Promise<T> {
    return this.request('POST', resourcePath(ref, namespace, name, subresource), body);
  }

  async *watch<T extends KubeObject>(ref: ResourceRef, opts: WatchOptions, signal: AbortSignal): AsyncIterable<WatchEvent<T>> {
    const { namespace, ...q } = opts;
    const path = resourcePath(ref, namespace) + queryString({ ...(q as Query), watch: 'true' });
    let res: http.IncomingMessage;
    try {
      res = await this.send({ ...this.requestOptions('GET', path, {}), signal });
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    }
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw toClientError(status, Buffer.concat(chunks).toString('utf8'));
    }
    const lines = readline.createInterface({ input: res, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (!line) continue;
        yield JSON.parse(line) as WatchEvent<T>;
      }
    } catch (e) {
      if (!signal.aborted) throw e;
    } finally {
      lines.close();
      res.destroy();
    }
  }
}

function writeQueryObject(opts: WriteOptions): Query {
  return { dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager };
}

function writeQuery(opts: WriteOptions): string {
  return queryString(writeQueryObject(opts));
}

function toClientError(status: number, text: string): ClientError {
  try {
    const s = JSON.parse(text) as { kind?: string; reason?: string; message?: string };
    if (s.kind === 'Status') return new ClientError(status, s.reason ?? 'Unknown', s.message ?? `HTTP ${status}`, s as Record<string, unknown>);
  } catch {
    /* not a Status */
  }
  return new ClientError(status, 'Unknown', `HTTP ${status}: ${text.slice(0, 200)}`);
}
