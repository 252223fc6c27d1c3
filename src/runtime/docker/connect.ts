// Reaching the Docker engine, with errors that say what to do. The start-up check speaks plain HTTP
// to the engine (GET /version) instead of loading dockerode: it runs on every start, and dockerode
// costs ~200 ms of module loading that the API-only path does not need.
import http from 'node:http';

export interface DockerEngineInfo {
  /** Engine version, e.g. "20.10.24". */
  version: string;
  apiVersion: string;
  /** Where we connected, for messages. */
  address: string;
}

export function dockerAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** node:http options for the engine at DOCKER_HOST (unix socket or plain tcp). */
export function dockerHttpTarget(env: NodeJS.ProcessEnv = process.env): { socketPath: string } | { host: string; port: number } {
  const address = dockerAddress(env);
  if (address.startsWith('unix://')) return { socketPath: address.slice('unix://'.length) };
  const m = /^tcp:\/\/([^:/]+)(?::(\d+))?/.exec(address);
  if (m) return { host: m[1]!, port: Number(m[2] ?? 2375) };
  return { socketPath: address };
}

export class DockerUnreachableError extends Error {
  override name = 'DockerUnreachableError';
}

/** Asks the engine for its version within timeoutMs; throws DockerUnreachableError naming the address and the fix. */
export async function pingDocker(timeoutMs = 5000, env: NodeJS.ProcessEnv = process.env): Promise<DockerEngineInfo> {
  const address = dockerAddress(env);
  const fail = (why: string) =>
    new DockerUnreachableError(
      `Docker is not reachable at ${address} (${why}). nanokube runs pods as Docker containers: ` +
        `start the Docker engine (e.g. "sudo systemctl start docker", or "sudo dockerd &"), ` +
        `or point DOCKER_HOST at a running engine.`,
    );
  const body = await new Promise<string>((resolve, reject) => {
    const req = http.get({ ...dockerHttpTarget(env), path: '/version', timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(fail(`HTTP ${res.statusCode}: ${text.trim()}`))));
    });
    req.on('timeout', () => req.destroy(fail(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof DockerUnreachableError ? e : fail(e.code ? `${e.code}: ${e.message}` : e.message)));
  });
  try {
    const v = JSON.parse(body) as { Version?: string; ApiVersion?: string };
    return { version: v.Version ?? 'unknown', apiVersion: v.ApiVersion ?? 'unknown', address };
  } catch {
    throw fail(`unexpected answer to GET /version: ${body.slice(0, 100)}`);
  }
}
