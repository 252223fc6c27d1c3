// Pod garbage collector: force-deletes (grace 0) what no kubelet will ever clean up —
// finished pods beyond a threshold (oldest first; upstream's 12500), pods bound to nodes that no
// longer exist (after a 40 s quarantine and a live check, since a node may be re-registering),
// terminating pods that were never scheduled, and terminating pods on nodes that are not ready and
// carry the node.kubernetes.io/out-of-service taint (the operator's "this node is gone" signal).
import { setTimeout as delay } from 'node:timers/promises';
import { isNotFound, type Client, type KubeObject } from '../../client/types.ts';
import type { SharedInformers } from '../../client/shared-informers.ts';
import type { Informer } from '../../client/informer.ts';
import { rfc3339 } from '../../api/meta.ts';
import { logger } from '../../util/log.ts';
import { nodesRef, podsRef } from '../nodelifecycle/nodelifecycle.ts';
import { TAINT_OUT_OF_SERVICE, type Taint } from '../nodelifecycle/taints.ts';

const log = logger('controller/podgc');

export interface PodGCOptions {
  client: Client;
  informers: SharedInformers;
  now?: () => number;
  /** Finished pods kept before the oldest are deleted (upstream --terminated-pod-gc-threshold, 12500). */
  terminatedPodThreshold?: number;
  /** How often to look (upstream: 20 s). */
  periodMs?: number;
  /** How long a node must be missing before its pods count as orphaned (upstream: 40 s). */
  quarantineMs?: number;
}

type PodStatus = { phase?: string; conditions?: Array<Record<string, unknown>> };

export class PodGC {
  readonly name = 'podgc';
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly missingSince = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: PodGCOptions) {
    this.now = opts.now ?? Date.now;
    this.pods = opts.informers.informerFor(podsRef);
    this.nodes = opts.informers.informerFor(nodesRef);
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.pods.waitForSync(signal), this.nodes.waitForSync(signal)]);
    while (!signal.aborted) {
      try {
        await this.gcOnce();
      } catch (e) {
        if (!signal.aborted) log.warn('pod GC pass failed', { error: e });
      }
      // timers/promises removes its abort listener when the timer fires: no listener pile-up.
      await delay(this.opts.periodMs ?? 20_000, undefined, { signal }).catch(() => undefined);
    }
  }

  /** One pass; returns how many pods were deleted. */
  async gcOnce(): Promise<number> {
    let deleted = 0;
    const pods = this.pods.list();
    deleted += await this.gcTerminated(pods);
    deleted += await this.gcOrphaned(pods);
    for (const pod of pods) {
      if (!pod.metadata.deletionTimestamp) continue;
      const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
      if (!nodeName) {
        if (await this.forceDelete(pod)) deleted++;
        continue;
      }
      const node = this.nodes.get(nodeName);
      if (node && this.outOfService(node) && (await this.forceDelete(pod, 'DeletionByPodGC', 'PodGC: node is out of service'))) deleted++;
    }
    return deleted;
  }

  private async gcTerminated(pods: KubeObject[]): Promise<number> {
    const threshold = this.opts.terminatedPodThreshold ?? 12_500;
    const finished = pods.filter((p) => {
      const phase = (p.status as PodStatus | undefined)?.phase;
      return !p.metadata.deletionTimestamp && (phase === 'Succeeded' || phase === 'Failed');
    });
    if (finished.length <= threshold) return 0;
    finished.sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    let n = 0;
    for (const pod of finished.slice(0, finished.length - threshold)) if (await this.forceDelete(pod)) n++;
    return n;
  }

  private async gcOrphaned(pods: KubeObject[]): Promise<number> {
    const now = this.now();
    const missing = new Set<string>();
    for (const p of pods) {
      const nodeName = (p.spec as { nodeName?: string } | undefined)?.nodeName;
      if (nodeName && !this.nodes.get(nodeName)) missing.add(nodeName);
    }
    for (const n of [...this.missingSince.keys()]) if (!missing.has(n)) this.missingSince.delete(n);
    let count = 0;
    for (const nodeName of missing) {
      const since = this.missingSince.get(nodeName);
      if (since === undefined) {
        this.missingSince.set(nodeName, now);
        continue;
      }
      if (now - since < (this.opts.quarantineMs ?? 40_000)) continue;
      try {
        await this.opts.client.get(nodesRef, nodeName);
        continue; // it exists after all; the informer will catch up
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      for (const pod of pods) {
        if ((pod.spec as { nodeName?: string }).nodeName !== nodeName) continue;
        if (await this.forceDelete(pod, 'DeletionByPodGC', 'PodGC: node no longer exists')) count++;
      }
    }
    return count;
  }

  private outOfService(node: KubeObject): boolean {
    const taints = ((node.spec as { taints?: Taint[] } | undefined)?.taints ?? []) as Taint[];
    if (!taints.some((t) => t.key === TAINT_OUT_OF_SERVICE)) return false;
    const ready = ((node.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready');
    return ready?.status !== 'True';
  }

  private async forceDelete(pod: KubeObject, reason?: string, message?: string): Promise<boolean> {
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    try {
      if (reason) {
        // Like upstream: a pod the GC removes is marked Failed with a DisruptionTarget condition first.
        const status = (pod.status ?? {}) as PodStatus;
        const conditions = (status.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget');
        conditions.push({ type: 'DisruptionTarget', status: 'True', reason, message, lastTransitionTime: rfc3339(this.now()) });
        const terminal = status.phase === 'Succeeded' || status.phase === 'Failed';
        await this.opts.client.patch(podsRef, name, 'merge', { status: { conditions, ...(terminal ? {} : { phase: 'Failed' }) } }, { namespace: ns, subresource: 'status' });
      }
      await this.opts.client.delete(podsRef, name, { namespace: ns, gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid! } });
      log.info('deleted pod', { pod: `${ns}/${name}`, reason: reason ?? 'terminated' });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }
}
