// StatefulSet controller: pods <set>-<ordinal> with stable hostname/subdomain (the governing
// headless Service), PVCs from volumeClaimTemplates, OrderedReady or Parallel management,
// RollingUpdate (highest ordinal first, down to the partition) or OnDelete, and
// ControllerRevisions for `kubectl rollout history/undo statefulset`.
import type { StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Informer } from '../../client/informer.ts';
import { isAlreadyExists, isNotFound, type KubeObject, type ObjectMeta } from '../../client/types.ts';
import type { EventRecorder } from '../../controller/events.ts';
import type { Request } from '../../controller/runner.ts';
import { WorkloadController, type ControllerDeps } from '../replicaset/deps.ts';
import { controllerRefOf, isPodAvailable, isPodReady, isPodTerminal, ownerRefTo, podFromTemplate, refs, writeStatus, type PodObject } from '../replicaset/podutil.ts';
import { ensureRevision, pruneRevisions, REVISION_LABEL, type ControllerRevisionObj } from './history.ts';

export type StatefulSetObj = KubeObject & Omit<StatefulSet, 'metadata'> & { metadata: ObjectMeta };

const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

function ordinalOf(set: StatefulSetObj, pod: PodObject): number | undefined {
  const prefix = `${set.metadata.name}-`;
  const name = pod.metadata.name ?? '';
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^\d+$/.test(rest) ? Number(rest) : undefined;
}

const runningAndReady = (p: PodObject) => p.status?.phase === 'Running' && isPodReady(p) && !p.metadata.deletionTimestamp;

export class StatefulSetController extends WorkloadController {
  readonly name = 'statefulset-controller';
  private readonly sets: Informer<StatefulSetObj>;
  private readonly pods: Informer<PodObject>;
  private readonly revisions: Informer<ControllerRevisionObj>;
  private readonly pvcs: Informer<KubeObject>;
  private readonly events: EventRecorder;

  constructor(deps: ControllerDeps) {
    super(deps);
    this.events = deps.recorder('statefulset-controller');
    this.sets = deps.informers.informerFor<StatefulSetObj>(refs.statefulsets);
    this.pods = deps.informers.informerFor<PodObject>(refs.pods);
    this.revisions = deps.informers.informerFor<ControllerRevisionObj>(refs.controllerrevisions);
    this.pvcs = deps.informers.informerFor<KubeObject>(refs.pvcs);
    const enqueueSet = (s: KubeObject) => this.enqueue({ namespace: s.metadata.namespace, name: s.metadata.name ?? '' });
    this.sets.addHandlers({ onAdd: enqueueSet, onUpdate: (_o, n) => enqueueSet(n) });
    const onPod = (p: PodObject) => {
      const ref = controllerRefOf(p);
      if (ref?.kind === 'StatefulSet') this.enqueue({ namespace: p.metadata.namespace, name: ref.name });
    };
    this.pods.addHandlers({ onAdd: onPod, onUpdate: (_o, n) => onPod(n), onDelete: onPod });
  }

  async sync(req: Request): Promise<{ requeueAfterMs?: number } | void> {
    const cached = this.sets.get(req.name, req.namespace);
    if (!cached || cached.metadata.deletionTimestamp) return;
    const set = structuredClone(cached);
    const client = this.deps.client;
    const spec = set.spec!;
    const ns = set.metadata.namespace;
    const owned = this.revisions.list((r) => r.metadata.namespace === ns && controllerRefOf(r)?.uid === set.metadata.uid);
    const { revision: updateRev, all: revisions } = await ensureRevision(client, set, 'StatefulSet', spec.template, owned, set.status?.collisionCount);
    const updateRevision = updateRev.metadata.name ?? '';
    const currentRevision = set.status?.currentRevision && revisions.some((r) => r.metadata.name === set.status?.currentRevision) ? set.status.currentRevision : updateRevision;
    const currentTemplate = revisions.find((r) => r.metadata.name === currentRevision);

    const replicas = spec.replicas ?? 1;
    const start = spec.ordinals?.start ?? 0;
    const pods = this.pods.list((p) => p.metadata.namespace === ns && controllerRefOf(p)?.uid === set.metadata.uid);
    const byOrdinal = new Map<number, PodObject>();
    for (const p of pods) {
      const o = ordinalOf(set, p);
      if (o !== undefined) byOrdinal.set(o, p);
    }
    const parallel = spec.podManagementPolicy === 'Parallel';
    const minReady = spec.minReadySeconds ?? 0;
    const now = this.deps.clock.now();

    // Create missing or replace failed pods, in ordinal order (each waits for the previous to be
    // Running and Ready unless Parallel).
    let blocked = false;
    for (let ord = start; ord < start + replicas; ord++) {
      const pod = byOrdinal.get(ord);
      if (pod && isPodTerminal(pod) && !pod.metadata.deletionTimestamp) {
        await this.deletePod(set, pod);
        blocked = !parallel;
        if (blocked) break;
        continue;
      }
      if (!pod) {
        // Pods below the partition keep the current revision; above it they get the update.
        const partition = spec.updateStrategy?.type === 'OnDelete' ? 0 : (spec.updateStrategy?.rollingUpdate?.partition ?? 0);
        const useCurrent = ord < start + partition && currentTemplate !== undefined && currentRevision !== updateRevision;
        const rev = useCurrent ? currentTemplate : updateRev;
        await this.createPod(set, ord, rev);
        if (!parallel) {
          blocked = true;
          break;
        }
        continue;
      }
      if (!parallel && !runningAndReady(pod)) {
        blocked = true;
        break;
      }
    }

    // Scale down: highest ordinal first; OrderedReady only when everything else is healthy.
    const condemned = [...byOrdinal.entries()].filter(([o]) => o < start || o >= start + replicas).sort((a, b) => b[0] - a[0]);
    if (!blocked && condemned.length) {
      const healthy = [...byOrdinal.entries()].filter(([o]) => o >= start && o < start + replicas).every(([, p]) => runningAndReady(p));
      for (const [ord, pod] of parallel ? condemned : condemned.slice(0, 1)) {
        if (!parallel && (!healthy || pod.metadata.deletionTimestamp)) break;
        await this.deletePod(set, pod);
        if (spec.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete') await this.deleteClaims(set, ord);
      }
      blocked = !parallel;
    }

    // Rolling update: highest ordinal >= partition not at the update revision, one at a time,
    // and only when every pod is Running and Ready.
    if (!blocked && spec.updateStrategy?.type !== 'OnDelete') {
      const partition = spec.updateStrategy?.rollingUpdate?.partition ?? 0;
      const allHealthy = [...byOrdinal.values()].every(runningAndReady);
      const stale = [...byOrdinal.entries()].filter(([o, p]) => o >= start + partition && o < start + replicas && p.metadata.labels?.[REVISION_LABEL] !== updateRevision).sort((a, b) => b[0] - a[0]);
      const target = stale[0];
      if (target && allHealthy) await this.deletePod(set, target[1]);
    }

    // Status.
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);
    const updated = live.filter((p) => p.metadata.labels?.[REVISION_LABEL] === updateRevision).length;
    const status: StatefulSetStatus = {
      observedGeneration: set.metadata.generation ?? 0,
      replicas: live.length,
      readyReplicas: live.filter(isPodReady).length,
      availableReplicas: live.filter((p) => isPodAvailable(p, minReady, now)).length,
      currentReplicas: live.filter((p) => p.metadata.labels?.[REVISION_LABEL] === currentRevision).length,
      updatedReplicas: updated,
      currentRevision,
      updateRevision,
      collisionCount: set.status?.collisionCount ?? 0,
    };
    // The rollout is done when every pod runs the update: it becomes the current revision.
    if (updated === replicas && live.length === replicas) {
      status.currentRevision = updateRevision;
      status.currentReplicas = updated;
    }
    if (JSON.stringify(set.status ?? {}) !== JSON.stringify(status)) {
      try {
        await writeStatus(client, refs.statefulsets, set, status);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    const inUse = new Set([status.currentRevision ?? '', updateRevision, ...live.map((p) => p.metadata.labels?.[REVISION_LABEL] ?? '')]);
    await pruneRevisions(client, revisions, inUse, spec.revisionHistoryLimit ?? 10);
  }

  private claimName(set: StatefulSetObj, template: string, ord: number): string {
    return `${template}-${set.metadata.name}-${ord}`;
  }

  private async createPod(set: StatefulSetObj, ord: number, rev: ControllerRevisionObj): Promise<void> {
    const name = `${set.metadata.name}-${ord}`;
    const template = structuredClone(rev.data?.spec?.template ?? set.spec?.template ?? {}) as Record<string, unknown>;
    delete template.$patch;
    const pod = podFromTemplate(template as never, set, ownerRefTo(set, 'apps/v1', 'StatefulSet'), { name });
    pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [REVISION_LABEL]: rev.metadata.name ?? '', [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ord) };
    const spec = pod.spec!;
    // Stable network identity: <pod>.<serviceName>.<ns>.svc through the headless Service.
    spec.hostname = name;
    if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
    for (const tpl of set.spec?.volumeClaimTemplates ?? []) {
      const tplName = tpl.metadata?.name ?? '';
      const claimName = this.claimName(set, tplName, ord);
      await this.ensureClaim(set, tpl as unknown as KubeObject, claimName);
      spec.volumes = [...(spec.volumes ?? []).filter((v) => v.name !== tplName), { name: tplName, persistentVolumeClaim: { claimName } }];
    }
    try {
      await this.deps.client.create(refs.pods, pod);
      this.events.event(set, 'Normal', 'SuccessfulCreate', `create Pod ${name} in StatefulSet ${set.metadata.name} successful`);
    } catch (e) {
      if (isAlreadyExists(e)) return;
      this.events.event(set, 'Warning', 'FailedCreate', `create Pod ${name} in StatefulSet ${set.metadata.name} failed error: ${(e as Error).message}`);
      throw e;
    }
  }

  private async ensureClaim(set: StatefulSetObj, tpl: KubeObject, claimName: string): Promise<void> {
    if (this.pvcs.get(claimName, set.metadata.namespace)) return;
    const labels = { ...(tpl.metadata?.labels ?? {}), ...((set.spec?.selector?.matchLabels as Record<string, string> | undefined) ?? {}) };
    const claim: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: claimName, namespace: set.metadata.namespace, labels, ...(tpl.metadata?.annotations ? { annotations: tpl.metadata.annotations } : {}) },
      spec: structuredClone((tpl as { spec?: unknown }).spec ?? {}),
    };
    // whenDeleted: Delete ties the claim's life to the set (garbage collection does the rest).
    if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete') claim.metadata.ownerReferences = [{ ...ownerRefTo(set, 'apps/v1', 'StatefulSet'), controller: false }];
    try {
      await this.deps.client.create(refs.pvcs, claim);
      this.events.event(set, 'Normal', 'SuccessfulCreate', `create Claim ${claimName} for Pod ${claimName.slice(claimName.indexOf('-') + 1)} in StatefulSet ${set.metadata.name} success`);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }

  private async deleteClaims(set: StatefulSetObj, ord: number): Promise<void> {
    for (const tpl of set.spec?.volumeClaimTemplates ?? []) {
      await this.deps.client.delete(refs.pvcs, this.claimName(set, tpl.metadata?.name ?? '', ord), { namespace: set.metadata.namespace }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
    }
  }

  private async deletePod(set: StatefulSetObj, pod: PodObject): Promise<void> {
    try {
      await this.deps.client.delete(refs.pods, pod.metadata.name ?? '', { namespace: pod.metadata.namespace, preconditions: { uid: pod.metadata.uid } });
      this.events.event(set, 'Normal', 'SuccessfulDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
    } catch (e) {
      if (!isNotFound(e) && (e as { code?: number }).code !== 409) throw e;
    }
  }
}
