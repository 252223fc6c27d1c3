// Finding the runtime container behind a (namespace, pod, container) triple, from runtime labels only:
// the kubelet server must answer for whatever runs, even right after a kubelet restart.
import type { ContainerStatus, NodeRuntime } from '../runtime/types.ts';

/** An error the kubelet server answers with the given HTTP code and message. */
export class KubeletError extends Error {
  override name = 'KubeletError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ContainerRef {
  namespace: string;
  pod: string;
  container: string;
  /** Pod uid from the URL (upstream's optional 4th segment); narrows to one pod incarnation. */
  uid?: string;
}

/** All instances of the container, newest restart first. */
async function instances(runtime: NodeRuntime, ref: ContainerRef): Promise<ContainerStatus[]> {
  const filter = { namespace: ref.namespace, podName: ref.pod, containerName: ref.container, ...(ref.uid ? { podUid: ref.uid } : {}) };
  const all = await runtime.listContainers(filter);
  return all.sort((a, b) => b.restartCount - a.restartCount || b.createdAt.localeCompare(a.createdAt));
}

/** The current instance of a container (or, with previous, the one before it). */
export async function findContainer(runtime: NodeRuntime, ref: ContainerRef, previous = false): Promise<ContainerStatus> {
  const list = await instances(runtime, ref);
  if (list.length === 0) throw new KubeletError(404, `container "${ref.container}" in pod "${ref.pod}" not found`);
  if (!previous) return list[0]!;
  const prev = list[1];
  if (!prev) throw new KubeletError(400, `previous terminated container "${ref.container}" in pod "${ref.pod}" not found`);
  return prev;
}

export async function findRunningContainer(runtime: NodeRuntime, ref: ContainerRef): Promise<ContainerStatus> {
  const c = await findContainer(runtime, ref);
  if (c.state !== 'running') throw new KubeletError(400, `container ${ref.container} is not running (state: ${c.state})`);
  return c;
}

export async function findSandbox(runtime: NodeRuntime, namespace: string, pod: string, uid?: string): Promise<ContainerStatus> {
  const list = await runtime.listSandboxes({ namespace, podName: pod, ...(uid ? { podUid: uid } : {}) });
  const running = list.filter((s) => s.state === 'running').sort((a, b) => b.attempt - a.attempt);
  const sandbox = running[0];
  if (!sandbox) throw new KubeletError(404, `pod ${namespace}/${pod} has no running sandbox on this node`);
  return sandbox;
}
