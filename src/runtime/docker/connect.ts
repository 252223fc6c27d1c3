// Reaching the Docker engine, with errors that say what to do. The only module besides the Docker
// runtime that touches dockerode (for start-up checks and `delete` clean-up).
import Docker from 'dockerode';

export interface DockerEndpoint {
  docker: Docker;
  /** Engine version, e.g. "20.10.24". */
  version: string;
  /** Where we connected, for messages. */
  address: string;
}

export function dockerAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

export class DockerUnreachableError extends Error {
  override name = 'DockerUnreachableError';
}

/** Connect and ping within timeoutMs; throws DockerUnreachableError naming the address and the fix. */
export async function connectDocker(timeoutMs = 5000, env: NodeJS.ProcessEnv = process.env): Promise<DockerEndpoint> {
  const address = dockerAddress(env);
  const docker = new Docker();
  const fail = (why: string) =>
    new DockerUnreachableError(
      `Docker is not reachable at ${address} (${why}). nanokube runs pods as Docker containers: ` +
        `start the Docker engine (e.g. "sudo systemctl start docker", or "sudo dockerd &"), ` +
        `or point DOCKER_HOST at a running engine.`,
    );
  let timer: NodeJS.Timeout | undefined;
  try {
    const version = await Promise.race([
      docker.version().then((v) => v.Version),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(fail(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { docker, version, address };
  } catch (e) {
    if (e instanceof DockerUnreachableError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw fail(err.code ? `${err.code}: ${err.message}` : err.message);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
