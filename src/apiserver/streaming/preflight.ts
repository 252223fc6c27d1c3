// What the API server checks before it hands a logs/exec/attach/port-forward request to a kubelet:
// the pod exists, is on a node, the container name resolves, and the pod's phase allows it.
import { ApiError, badRequest, notFound } from '../../api/status.ts';
import type { Store } from '../../storage/types.ts';
import type { Registry } from '../../registry/index.ts';
import { fromStored } from '../rest/objects.ts';
import { objectKey } from '../rest/keys.ts';

export type StreamKind = 'log' | 'exec' | 'attach' | 'portforward';

interface NamedContainer {
  name?: unknown;
}

export interface PodView {
  metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string> };
  spec: { nodeName?: string; containers?: NamedContainer[]; initContainers?: NamedContainer[]; ephemeralContainers?: NamedContainer[] };
  status?: {
    phase?: string;
    containerStatuses?: ContainerStatusView[];
    initContainerStatuses?: ContainerStatusView[];
    ephemeralContainerStatuses?: ContainerStatusView[];
  };
}

interface ContainerStatusView {
  name: string;
  state?: { waiting?: { reason?: string }; running?: object; terminated?: object };
}

export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

export async function getPod(store: Store, registry: Registry, namespace: string, name: string): Promise<PodView> {
  const def = registry.byResource('', 'v1', 'pods');
  if (!def) throw new ApiError(500, 'InternalError', 'pods are not registered');
  const kv = await store.get(objectKey(def, namespace, name));
  if (!kv) throw notFound({ group: '', resource: 'pods' }, name);
  return fromStored(def, kv) as unknown as PodView;
}

const names = (list: NamedContainer[] | undefined) => (list ?? []).map((c) => c.name).filter((n): n is string => typeof n === 'string');

/** The container a request means: the one named, else the annotated default, else the only one. */
export function resolveContainer(pod: PodView, requested: string | undefined): string {
  const podName = pod.metadata.name;
  const regular = names(pod.spec.containers);
  const init = names(pod.spec.initContainers);
  const ephemeral = names(pod.spec.ephemeralContainers);
  if (!requested) {
    const annotated = pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
    if (annotated && regular.includes(annotated)) return annotated;
    if (regular.length === 1) return regular[0]!;
    let message = `a container name must be specified for pod ${podName}, choose one of: [${regular.join(' ')}]`;
    if (init.length > 0) message += ` or one of the init containers: [${init.join(' ')}]`;
    if (ephemeral.length > 0) message += ` or one of the ephemeral containers: [${ephemeral.join(' ')}]`;
    throw badRequest(message);
  }
  if (![...regular, ...init, ...ephemeral].includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${podName}`);
  return requested;
}

function containerStatus(pod: PodView, container: string): ContainerStatusView | undefined {
  const s = pod.status ?? {};
  return [...(s.containerStatuses ?? []), ...(s.initContainerStatuses ?? []), ...(s.ephemeralContainerStatuses ?? [])].find((c) => c.name === container);
}

export interface Preflight {
  pod: PodView;
  nodeName: string;
  /** Resolved container; "" for port-forward. */
  container: string;
}

/** Runs the checks upstream makes for each kind and returns where to send the request. */
export function preflight(pod: PodView, kind: StreamKind, query: { container?: string; previous?: boolean }): Preflight {
  const name = pod.metadata.name;
  const phase = pod.status?.phase ?? 'Pending';
  const nodeName = pod.spec.nodeName;
  const container = kind === 'portforward' ? '' : resolveContainer(pod, query.container);
  if (kind === 'exec' && (phase === 'Succeeded' || phase === 'Failed')) throw badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
  if (kind === 'attach' && (phase === 'Succeeded' || phase === 'Failed')) throw badRequest(`cannot attach a container in a completed pod; current phase is ${phase}`);
  if (kind === 'portforward' && phase !== 'Running') throw badRequest(`unable to forward port because pod is not running. Current status=${phase}`);
  if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  if (kind === 'log' && !query.previous) {
    const waiting = containerStatus(pod, container)?.state?.waiting;
    if (waiting) throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${waiting.reason ?? 'ContainerCreating'}`);
  }
  return { pod, nodeName, container };
}
