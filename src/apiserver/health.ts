// /healthz, /livez and /readyz with upstream's text format: `ok`, or with ?verbose one `[+]name ok`
// line per check, ?exclude=<name> to skip a check, and /<endpoint>/<name> for a single check.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export type HealthCheck = () => Promise<void> | void;

type Endpoint = 'healthz' | 'livez' | 'readyz';

interface Registered {
  name: string;
  check: HealthCheck;
  endpoints: Set<Endpoint>;
}

export class HealthChecks {
  private readonly checks: Registered[] = [];

  /** A check for liveness and readiness (and the legacy /healthz). */
  add(name: string, check: HealthCheck): void {
    this.checks.push({ name, check, endpoints: new Set(['healthz', 'livez', 'readyz']) });
  }

  /** A check that only gates readiness (a component still starting, or the server shutting down). */
  addReadiness(name: string, check: HealthCheck): void {
    this.checks.push({ name, check, endpoints: new Set(['readyz']) });
  }

  async run(endpoint: Endpoint, only?: string, exclude: string[] = []): Promise<{ ok: boolean; lines: string[] } | undefined> {
    const selected = this.checks.filter((c) => c.endpoints.has(endpoint) && (only === undefined || c.name === only));
    if (only !== undefined && selected.length === 0) return undefined;
    const lines: string[] = [];
    let ok = true;
    for (const c of selected) {
      if (exclude.includes(c.name)) {
        lines.push(`[+]${c.name} excluded: ok`);
        continue;
      }
      try {
        await c.check();
        lines.push(`[+]${c.name} ok`);
      } catch {
        ok = false;
        // Upstream never shows failure details to clients; the server log has them.
        lines.push(`[-]${c.name} failed: reason withheld`);
      }
    }
    return { ok, lines };
  }
}

export function registerHealthRoutes(app: FastifyInstance, checks: HealthChecks): void {
  const handler = (endpoint: Endpoint) => async (req: FastifyRequest, reply: FastifyReply) => {
    const query = req.query as Record<string, string | string[] | undefined>;
    const only = (req.params as { check?: string }).check;
    const exclude = ([] as string[]).concat(query.exclude ?? []);
    const verbose = query.verbose !== undefined || only !== undefined;
    const result = await checks.run(endpoint, only, exclude);
    reply.header('content-type', 'text/plain; charset=utf-8').header('x-content-type-options', 'nosniff');
    if (!result) {
      reply.code(404);
      return '404 page not found\n';
    }
    reply.code(result.ok ? 200 : 500);
    if (!verbose && result.ok) return 'ok';
    const tail = result.ok ? `${endpoint} check passed` : `${endpoint} check failed`;
    if (only !== undefined) return result.ok ? 'ok' : `internal server error: ${tail}\n`;
    return [...result.lines, tail].join('\n') + '\n';
  };
  for (const endpoint of ['healthz', 'livez', 'readyz'] as const) {
    app.get(`/${endpoint}`, handler(endpoint));
    app.get(`/${endpoint}/:check`, handler(endpoint));
  }
}
