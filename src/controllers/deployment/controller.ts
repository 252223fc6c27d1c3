// Deployment controller: owns ReplicaSets named <deployment>-<pod-template-hash>, rolls between
// them (RollingUpdate with maxSurge/maxUnavailable, or Recreate), keeps revision annotations and
// history for `kubectl rollout history|undo`, scales proportionally mid-rollout, and reports the
// Available/Progressing conditions that `kubectl rollout status` and helm --wait read.
import type { DeploymentCondition, DeploymentStatus } from 'kubernetes-types/apps/v1.js';
import { selectorFromObject, type LabelSelectorObject } from '../../api/labels.ts';
import type { Informer } from '../../client/informer.ts';
import { isAlreadyExists, isNotFound } from '../../client/types.ts';
import type { EventRecorder } from '../../controller/events.ts';
import type { Request } from '../../controller/runner.ts';
import { WorkloadController, type ControllerDeps } from '../replicaset/deps.ts';
import { computeHash, controllerRefOf, isPodTerminal, ownerRefTo, refs, rfc3339, templatesEqualIgnoringHash, writeStatus, type PodObject } from '../replicaset/podutil.ts';
import {
  ANN,
  NOT_COPIED,
  REASON,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  desiredOf,
  getCondition,
  hasProgressDeadline,
  isRollingUpdate,
  maxSurge,
  maxUnavailable,
  newRSNewReplicas,
  proportionalSizes,
  removeCondition,
  replicasOf,
  revisionOf,
  setCondition,
  surgeAndUnavailable,
  type DeploymentObj,
  type ReplicaSetObj,
} from './util.ts';

const MAX_REVISION_HISTORY_CHARS = 2000;

export class DeploymentController extends WorkloadController {
  readonly name = 'deployment-controller';
  private readonly deployments: Informer<DeploymentObj>;
  private readonly replicaSets: Informer<ReplicaSetObj>;
  private readonly pods: Informer<PodObject>;
  private readonly events: EventRecorder;

  constructor(deps: ControllerDeps) {
    super(deps);
    this.events = deps.recorder('deployment-controller');
    this.deployments = deps.informers.informerFor<DeploymentObj>(refs.deployments);
    this.replicaSets = deps.informers.informerFor<ReplicaSetObj>(refs.replicasets);
    this.pods = deps.informers.informerFor<PodObject>(refs.pods);
    const enqueueD = (d: DeploymentObj) => this.enqueue({ namespace: d.metadata.namespace, name: d.metadata.name ?? '' });
    this.deployments.addHandlers({ onAdd: enqueueD, onUpdate: (_o, n) => enqueueD(n), onDelete: enqueueD });
    const onRS = (rs: ReplicaSetObj) => {
      const ref = controllerRefOf(rs);
      if (ref) {
        if (ref.kind === 'Deployment') this.enqueue({ namespace: rs.metadata.namespace, name: ref.name });
        return;
      }
      for (const d of this.deployments.list((x) => x.metadata.namespace === rs.metadata.namespace)) {
        if (selectorFromObject(d.spec?.selector as LabelSelectorObject).matches(rs.metadata.labels)) enqueueD(d);
      }
    };
    this.replicaSets.addHandlers({ onAdd: onRS, onUpdate: (_o, n) => onRS(n), onDelete: onRS });
    // Recreate waits for old pods to be gone; their deletion is the signal to go on.
    this.pods.addHandlers({
      onDelete: (p) => {
        const ref = controllerRefOf(p);
        if (ref?.kind !== 'ReplicaSet') return;
        const rs = this.replicaSets.get(ref.name, p.metadata.namespace);
        const dRef = rs && controllerRefOf(rs);
        if (dRef?.kind === 'Deployment') this.enqueue({ namespace: p.metadata.namespace, name: dRef.name });
      },
    });
  }

  async sync(req: Request): Promise<{ requeueAfterMs?: number } | void> {
    const cached = this.deployments.get(req.name, req.namespace);
    if (!cached) return;
    let d = structuredClone(cached);
    const sel = d.spec?.selector as LabelSelectorObject | undefined;
    if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) {
      this.events.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        await writeStatus(this.deps.client, refs.deployments, d, { ...(d.status ?? {}), observedGeneration: d.metadata.generation });
      }
      return;
    }
    const rsList = await this.claimReplicaSets(d);
    if (d.metadata.deletionTimestamp) {
      const { newRS, oldRSs } = await this.getAllReplicaSets(d, rsList, false);
      await this.syncStatusOnly(d, newRS, oldRSs);
      return;
    }
    d = await this.checkPausedConditions(d);
    if (d.spec?.paused) return this.syncScaleOnly(d, rsList);
    if (this.isScalingEvent(d, rsList)) return this.syncScaleOnly(d, rsList);
    return d.spec?.strategy?.type === 'Recreate' ? this.rolloutRecreate(d, rsList) : this.rolloutRolling(d, rsList);
  }

  /** Owned ReplicaSets, adopting orphans that match and releasing ones that stopped matching. */
  private async claimReplicaSets(d: DeploymentObj): Promise<ReplicaSetObj[]> {
    const selector = selectorFromObject(d.spec?.selector as LabelSelectorObject);
    const owned: ReplicaSetObj[] = [];
    for (const rs of this.replicaSets.list((x) => x.metadata.namespace === d.metadata.namespace)) {
      const ref = controllerRefOf(rs);
      const matches = selector.matches(rs.metadata.labels);
      if (ref) {
        if (ref.uid !== d.metadata.uid) continue;
        if (matches) owned.push(rs);
        else if (!d.metadata.deletionTimestamp) await this.patchOwners(rs, (rs.metadata.ownerReferences ?? []).filter((r) => r.uid !== d.metadata.uid));
        continue;
      }
      if (!matches || d.metadata.deletionTimestamp || rs.metadata.deletionTimestamp) continue;
      const adopted = await this.patchOwners(rs, [...(rs.metadata.ownerReferences ?? []), ownerRefTo(d, 'apps/v1', 'Deployment')]);
      if (adopted) owned.push(adopted);
    }
    return owned;
  }

  private async patchOwners(rs: ReplicaSetObj, ownerReferences: ReplicaSetObj['metadata']['ownerReferences']): Promise<ReplicaSetObj | undefined> {
    try {
      return await this.deps.client.patch<ReplicaSetObj>(refs.replicasets, rs.metadata.name ?? '', 'merge', { metadata: { resourceVersion: rs.metadata.resourceVersion, ownerReferences: ownerReferences?.length ? ownerReferences : null } }, { namespace: rs.metadata.namespace });
    } catch (e) {
      if (isNotFound(e) || (e as { code?: number }).code === 409) return undefined;
      throw e;
    }
  }

  // --- finding and creating the new ReplicaSet

  private findNewReplicaSet(d: DeploymentObj, rsList: ReplicaSetObj[]): ReplicaSetObj | undefined {
    // The oldest one wins if several carry the same template (upstream's tie break).
    const same = rsList.filter((rs) => templatesEqualIgnoringHash(rs.spec?.template, d.spec?.template));
    same.sort((a, b) => (Date.parse(a.metadata.creationTimestamp ?? '') || 0) - (Date.parse(b.metadata.creationTimestamp ?? '') || 0) || ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
    return same[0];
  }

  /** Copies annotations and bumps the revision; true when the ReplicaSet needs an update. */
  private setNewReplicaSetAnnotations(d: DeploymentObj, rs: ReplicaSetObj, newRevision: number, exists: boolean): boolean {
    const ann = (rs.metadata.annotations ??= {});
    let updated = false;
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
      if (NOT_COPIED.has(k) || ann[k] === v) continue;
      ann[k] = v;
      updated = true;
    }
    const oldRevision = ann[ANN.revision];
    if (Number(oldRevision ?? '0') < newRevision) {
      ann[ANN.revision] = String(newRevision);
      updated = true;
      if (oldRevision) {
        // The revisions a ReplicaSet had before (after undos), for `rollout history`.
        const history = ann[ANN.revisionHistory] ? `${ann[ANN.revisionHistory]},${oldRevision}` : oldRevision;
        ann[ANN.revisionHistory] = history.length > MAX_REVISION_HISTORY_CHARS ? history.slice(history.indexOf(',', history.length - MAX_REVISION_HISTORY_CHARS) + 1) : history;
      }
    }
    if (!exists && this.setReplicasAnnotations(rs, desiredOf(d), desiredOf(d) + maxSurge(d))) updated = true;
    return updated;
  }

  private setReplicasAnnotations(rs: ReplicaSetObj, desired: number, max: number): boolean {
    const ann = (rs.metadata.annotations ??= {});
    if (ann[ANN.desiredReplicas] === String(desired) && ann[ANN.maxReplicas] === String(max)) return false;
    ann[ANN.desiredReplicas] = String(desired);
    ann[ANN.maxReplicas] = String(max);
    return true;
  }

  private async getAllReplicaSets(d: DeploymentObj, rsList: ReplicaSetObj[], create: boolean): Promise<{ newRS: ReplicaSetObj | undefined; oldRSs: ReplicaSetObj[]; d: DeploymentObj }> {
    const existing = this.findNewReplicaSet(d, rsList);
    const oldRSs = rsList.filter((rs) => rs !== existing);
    const newRevision = oldRSs.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0) + 1;
    const client = this.deps.client;

    if (existing) {
      let rs = structuredClone(existing);
      const annotationsUpdated = this.setNewReplicaSetAnnotations(d, rs, newRevision, true);
      const minReady = d.spec?.minReadySeconds ?? 0;
      if (annotationsUpdated || (rs.spec?.minReadySeconds ?? 0) !== minReady) {
        rs.spec = { ...rs.spec!, minReadySeconds: minReady };
        rs = await client.update(refs.replicasets, rs);
      }
      d = await this.setDeploymentRevision(d, rs.metadata.annotations?.[ANN.revision] ?? String(newRevision));
      if (hasProgressDeadline(d) && !getCondition(d.status, 'Progressing')) {
        const status = structuredClone(d.status ?? {});
        setCondition(status, this.condition('Progressing', 'True', REASON.foundNewRS, `Found new replica set "${rs.metadata.name}"`));
        d = await writeStatus(client, refs.deployments, d, status);
      }
      return { newRS: rs, oldRSs, d };
    }
    if (!create) return { newRS: undefined, oldRSs, d };

    const template = structuredClone(d.spec?.template ?? {});
    const hash = computeHash(template, d.status?.collisionCount);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash } };
    const selector = structuredClone(d.spec?.selector ?? {}) as LabelSelectorObject;
    selector.matchLabels = { ...(selector.matchLabels ?? {}), 'pod-template-hash': hash };
    const draft: ReplicaSetObj = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `${d.metadata.name}-${hash}`, namespace: d.metadata.namespace, labels: { ...(template.metadata.labels ?? {}) }, ownerReferences: [ownerRefTo(d, 'apps/v1', 'Deployment')] },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    };
    const replicas = newRSNewReplicas(d, [...oldRSs, draft], draft);
    draft.spec!.replicas = replicas;
    this.setNewReplicaSetAnnotations(d, draft, newRevision, false);
    let newRS: ReplicaSetObj;
    let alreadyExisted = false;
    try {
      newRS = await client.create(refs.replicasets, draft);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const found = await client.get<ReplicaSetObj>(refs.replicasets, draft.metadata.name ?? '', d.metadata.namespace);
      const ref = controllerRefOf(found);
      if (ref?.uid === d.metadata.uid && templatesEqualIgnoringHash(found.spec?.template, d.spec?.template)) {
        newRS = found;
        alreadyExisted = true;
      } else {
        // A hash collision: another template (or another owner) holds the name. Bump the
        // collision count so the next attempt hashes to a different name.
        const status = structuredClone(d.status ?? {});
        status.collisionCount = (status.collisionCount ?? 0) + 1;
        await writeStatus(client, refs.deployments, d, status);
        throw new Error(`hash collision for ReplicaSet ${draft.metadata.name}; retrying with collisionCount ${status.collisionCount}`);
      }
    }
    if (!alreadyExisted && replicas > 0) {
      this.events.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${newRS.metadata.name} from 0 to ${replicas}`);
    }
    d = await this.setDeploymentRevision(d, String(newRevision));
    if (!alreadyExisted && hasProgressDeadline(d)) {
      const status = structuredClone(d.status ?? {});
      setCondition(status, this.condition('Progressing', 'True', REASON.newRSCreated, `Created new replica set "${newRS.metadata.name}"`));
      d = await writeStatus(client, refs.deployments, d, status);
    }
    return { newRS, oldRSs, d };
  }

  // /status writes do not carry metadata, so the revision annotation goes through the main resource.
  private async setDeploymentRevision(d: DeploymentObj, revision: string): Promise<DeploymentObj> {
    if (d.metadata.annotations?.[ANN.revision] === revision) return d;
    return this.deps.client.patch<DeploymentObj>(refs.deployments, d.metadata.name ?? '', 'merge', { metadata: { resourceVersion: d.metadata.resourceVersion, annotations: { [ANN.revision]: revision } } }, { namespace: d.metadata.namespace });
  }

  // --- scaling

  private async scaleReplicaSet(rs: ReplicaSetObj, newScale: number, d: DeploymentObj): Promise<[boolean, ReplicaSetObj]> {
    const old = replicasOf(rs);
    const copy = structuredClone(rs);
    const annotationsChanged = this.setReplicasAnnotations(copy, desiredOf(d), desiredOf(d) + maxSurge(d));
    if (old === newScale && !annotationsChanged) return [false, rs];
    copy.spec = { ...copy.spec!, replicas: newScale };
    const updated = await this.deps.client.update(refs.replicasets, copy);
    if (old !== newScale) {
      this.events.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${old < newScale ? 'up' : 'down'} replica set ${rs.metadata.name} from ${old} to ${newScale}`);
    }
    return [old !== newScale, updated];
  }

  private isScalingEvent(d: DeploymentObj, rsList: ReplicaSetObj[]): boolean {
    for (const rs of rsList) {
      if (replicasOf(rs) <= 0) continue;
      const desired = rs.metadata.annotations?.[ANN.desiredReplicas];
      if (desired !== undefined && Number(desired) !== desiredOf(d)) return true;
    }
    return false;
  }

  /** Paused deployments and scaling events: resize without rolling. */
  private async syncScaleOnly(d: DeploymentObj, rsList: ReplicaSetObj[]): Promise<{ requeueAfterMs?: number } | void> {
    const all = await this.getAllReplicaSets(d, rsList, false);
    d = all.d;
    let { newRS, oldRSs } = all;
    ({ newRS, oldRSs } = await this.scale(d, newRS, oldRSs));
    if (d.spec?.paused) await this.cleanup(d, oldRSs);
    await this.syncStatusOnly(d, newRS, oldRSs);
  }

  private async scale(d: DeploymentObj, newRS: ReplicaSetObj | undefined, oldRSs: ReplicaSetObj[]): Promise<{ newRS: ReplicaSetObj | undefined; oldRSs: ReplicaSetObj[] }> {
    const replace = (rs: ReplicaSetObj) => {
      if (newRS && rs.metadata.name === newRS.metadata.name) newRS = rs;
      else oldRSs = oldRSs.map((o) => (o.metadata.name === rs.metadata.name ? rs : o));
    };
    const all = [...(newRS ? [newRS] : []), ...oldRSs];
    const active = all.filter((rs) => replicasOf(rs) > 0);
    let target: ReplicaSetObj | undefined;
    if (active.length === 0) target = newRS ?? [...oldRSs].sort(byNewest)[0];
    else if (active.length === 1) target = active[0];
    if (target || active.length <= 1) {
      if (target && replicasOf(target) !== desiredOf(d)) replace((await this.scaleReplicaSet(target, desiredOf(d), d))[1]);
      return { newRS, oldRSs };
    }
    const saturated = newRS && replicasOf(newRS) === desiredOf(d) && newRS.metadata.annotations?.[ANN.desiredReplicas] === String(desiredOf(d)) && (newRS.status?.availableReplicas ?? 0) === desiredOf(d);
    if (saturated) {
      for (const rs of oldRSs.filter((r) => replicasOf(r) > 0)) replace((await this.scaleReplicaSet(rs, 0, d))[1]);
      return { newRS, oldRSs };
    }
    if (isRollingUpdate(d)) {
      const sizes = proportionalSizes(d, active);
      for (const rs of active) replace((await this.scaleReplicaSet(rs, sizes.get(rs.metadata.name ?? '') ?? replicasOf(rs), d))[1]);
    }
    return { newRS, oldRSs };
  }

  // --- strategies

  private async rolloutRolling(d: DeploymentObj, rsList: ReplicaSetObj[]): Promise<{ requeueAfterMs?: number } | void> {
    const all = await this.getAllReplicaSets(d, rsList, true);
    d = all.d;
    let newRS = all.newRS!;
    let oldRSs = all.oldRSs;
    // Scale up the new ReplicaSet as far as the surge budget allows.
    const want = newRSNewReplicas(d, [newRS, ...oldRSs], newRS);
    if (replicasOf(newRS) !== want) {
      const [scaled, updated] = await this.scaleReplicaSet(newRS, want, d);
      newRS = updated;
      if (scaled) return this.syncRolloutStatus(d, newRS, oldRSs);
    }
    const [scaledDown, olds] = await this.reconcileOldReplicaSets(d, newRS, oldRSs);
    oldRSs = olds;
    if (scaledDown) return this.syncRolloutStatus(d, newRS, oldRSs);
    if (deploymentComplete(d, d.status ?? {})) await this.cleanup(d, oldRSs);
    return this.syncRolloutStatus(d, newRS, oldRSs);
  }

  /** Scale old ReplicaSets down without dropping below spec.replicas - maxUnavailable available pods. */
  private async reconcileOldReplicaSets(d: DeploymentObj, newRS: ReplicaSetObj, oldRSs: ReplicaSetObj[]): Promise<[boolean, ReplicaSetObj[]]> {
    const olds = oldRSs.map((rs) => rs);
    const oldCount = olds.reduce((n, rs) => n + replicasOf(rs), 0);
    if (oldCount === 0) return [false, olds];
    const desired = desiredOf(d);
    const minAvailable = desired - maxUnavailable(d);
    const allCount = () => replicasOf(newRS) + olds.reduce((n, rs) => n + replicasOf(rs), 0);
    const newUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
    let maxScaledDown = allCount() - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return [false, olds];
    const byOldest = (idx: number[]) => idx.sort((a, b) => (Date.parse(olds[a]!.metadata.creationTimestamp ?? '') || 0) - (Date.parse(olds[b]!.metadata.creationTimestamp ?? '') || 0));
    const order = byOldest(olds.map((_, i) => i));
    // First drop old pods that are not available anyway: they cost nothing in availability.
    let cleaned = 0;
    for (const i of order) {
      if (cleaned >= maxScaledDown) break;
      const rs = olds[i]!;
      const unavailable = replicasOf(rs) - (rs.status?.availableReplicas ?? 0);
      if (replicasOf(rs) === 0 || unavailable <= 0) continue;
      const n = Math.min(maxScaledDown - cleaned, unavailable);
      const [, updated] = await this.scaleReplicaSet(rs, replicasOf(rs) - n, d);
      olds[i] = updated;
      cleaned += n;
    }
    // Then available old pods, as long as enough stay available across all ReplicaSets.
    const available = (newRS.status?.availableReplicas ?? 0) + olds.reduce((n, rs) => n + Math.min(rs.status?.availableReplicas ?? 0, replicasOf(rs)), 0);
    let scaled = 0;
    if (available > minAvailable) {
      const total = available - minAvailable;
      for (const i of order) {
        if (scaled >= total) break;
        const rs = olds[i]!;
        if (replicasOf(rs) === 0) continue;
        const n = Math.min(replicasOf(rs), total - scaled);
        const [, updated] = await this.scaleReplicaSet(rs, replicasOf(rs) - n, d);
        olds[i] = updated;
        scaled += n;
      }
    }
    maxScaledDown = cleaned + scaled;
    return [maxScaledDown > 0, olds];
  }

  private async rolloutRecreate(d: DeploymentObj, rsList: ReplicaSetObj[]): Promise<{ requeueAfterMs?: number } | void> {
    let all = await this.getAllReplicaSets(d, rsList, false);
    d = all.d;
    let { newRS, oldRSs } = all;
    let scaledDown = false;
    oldRSs = await Promise.all(
      oldRSs.map(async (rs) => {
        if (replicasOf(rs) === 0) return rs;
        const [scaled, updated] = await this.scaleReplicaSet(rs, 0, d);
        scaledDown ||= scaled;
        return updated;
      }),
    );
    if (scaledDown) return this.syncRolloutStatus(d, newRS, oldRSs);
    // Recreate guarantees old pods are gone before new ones start.
    const oldUids = new Set(oldRSs.map((rs) => rs.metadata.uid));
    const oldPodsRunning =
      oldRSs.some((rs) => (rs.status?.replicas ?? 0) > 0) ||
      this.pods.list((p) => p.metadata.namespace === d.metadata.namespace && oldUids.has(controllerRefOf(p)?.uid) && !isPodTerminal(p)).length > 0;
    if (oldPodsRunning) return this.syncRolloutStatus(d, newRS, oldRSs);
    if (!newRS) {
      all = await this.getAllReplicaSets(d, rsList, true);
      d = all.d;
      newRS = all.newRS;
      oldRSs = all.oldRSs.map((rs) => oldRSs.find((o) => o.metadata.name === rs.metadata.name) ?? rs);
    }
    if (newRS && replicasOf(newRS) !== desiredOf(d)) newRS = (await this.scaleReplicaSet(newRS, desiredOf(d), d))[1];
    if (deploymentComplete(d, d.status ?? {})) await this.cleanup(d, oldRSs);
    return this.syncRolloutStatus(d, newRS, oldRSs);
  }

  /** Old ReplicaSets beyond revisionHistoryLimit, scaled to zero, are deleted oldest revision first. */
  private async cleanup(d: DeploymentObj, oldRSs: ReplicaSetObj[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit;
    if (limit === undefined || limit === null) return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp).sort((a, b) => revisionOf(a) - revisionOf(b) || (Date.parse(a.metadata.creationTimestamp ?? '') || 0) - (Date.parse(b.metadata.creationTimestamp ?? '') || 0));
    const diff = cleanable.length - limit;
    for (let i = 0; i < diff; i++) {
      const rs = cleanable[i]!;
      if ((rs.status?.replicas ?? 0) !== 0 || replicasOf(rs) !== 0 || (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      try {
        await this.deps.client.delete(refs.replicasets, rs.metadata.name ?? '', { namespace: rs.metadata.namespace, preconditions: { uid: rs.metadata.uid } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  // --- status

  private condition(type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string): DeploymentCondition {
    const t = rfc3339(this.deps.clock.now());
    return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
  }

  private calculateStatus(d: DeploymentObj, newRS: ReplicaSetObj | undefined, oldRSs: ReplicaSetObj[]): DeploymentStatus {
    const all = [...(newRS ? [newRS] : []), ...oldRSs];
    const sum = (f: (rs: ReplicaSetObj) => number) => all.reduce((n, rs) => n + f(rs), 0);
    const available = sum((rs) => rs.status?.availableReplicas ?? 0);
    const total = sum(replicasOf);
    const status: DeploymentStatus = {
      observedGeneration: d.metadata.generation ?? 0,
      replicas: sum((rs) => rs.status?.replicas ?? 0),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, total - available),
      conditions: structuredClone(d.status?.conditions ?? []),
    };
    if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
    if (available >= desiredOf(d) - maxUnavailable(d)) setCondition(status, this.condition('Available', 'True', REASON.minAvailable, 'Deployment has minimum availability.'));
    else setCondition(status, this.condition('Available', 'False', REASON.minUnavailable, 'Deployment does not have minimum availability.'));
    return status;
  }

  private async syncStatusOnly(d: DeploymentObj, newRS: ReplicaSetObj | undefined, oldRSs: ReplicaSetObj[]): Promise<void> {
    await this.writeIfChanged(d, this.calculateStatus(d, newRS, oldRSs));
  }

  private async syncRolloutStatus(d: DeploymentObj, newRS: ReplicaSetObj | undefined, oldRSs: ReplicaSetObj[]): Promise<{ requeueAfterMs?: number } | void> {
    const now = this.deps.clock.now();
    const status = this.calculateStatus(d, newRS, oldRSs);
    if (!hasProgressDeadline(d)) removeCondition(status, 'Progressing');
    const current = getCondition(d.status, 'Progressing');
    const alreadyComplete = status.replicas === status.updatedReplicas && current?.reason === REASON.newRSAvailable;
    const what = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
    if (hasProgressDeadline(d) && !alreadyComplete) {
      if (deploymentComplete(d, status)) {
        setCondition(status, this.condition('Progressing', 'True', REASON.newRSAvailable, `${what} has successfully progressed.`));
      } else if (deploymentProgressing(d, status)) {
        const cond = this.condition('Progressing', 'True', REASON.rsUpdated, `${what} is progressing.`);
        // Progress refreshes lastUpdateTime (the deadline clock) but not lastTransitionTime.
        if (current?.status === 'True' && current.lastTransitionTime) cond.lastTransitionTime = current.lastTransitionTime;
        removeCondition(status, 'Progressing');
        setCondition(status, cond);
      } else if (deploymentTimedOut(d, status, now)) {
        setCondition(status, this.condition('Progressing', 'False', REASON.timedOut, `${what} has timed out progressing.`));
        if (current?.reason !== REASON.timedOut) this.events.event(d, 'Warning', REASON.timedOut, `Deployment "${d.metadata.name}" has timed out progressing.`);
      }
    }
    await this.writeIfChanged(d, status);
    // A rollout that is neither complete nor failed must be looked at again when its deadline passes.
    const cond = getCondition(status, 'Progressing');
    if (hasProgressDeadline(d) && cond && cond.reason !== REASON.newRSAvailable && cond.reason !== REASON.timedOut && !deploymentComplete(d, status)) {
      const from = Date.parse(cond.lastUpdateTime ?? '') || now;
      const after = from + (d.spec?.progressDeadlineSeconds ?? 600) * 1000 - now;
      return { requeueAfterMs: Math.max(after, 0) + 1000 };
    }
  }

  private async writeIfChanged(d: DeploymentObj, status: DeploymentStatus): Promise<void> {
    const clean = omitZeros(status);
    if (JSON.stringify(sortConditions(omitZeros(d.status ?? {}))) === JSON.stringify(sortConditions(clean))) return;
    try {
      await writeStatus(this.deps.client, refs.deployments, d, clean);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async checkPausedConditions(d: DeploymentObj): Promise<DeploymentObj> {
    if (!hasProgressDeadline(d)) return d;
    const cond = getCondition(d.status, 'Progressing');
    if (cond?.reason === REASON.timedOut) return d;
    const pausedCond = cond?.reason === REASON.paused;
    const status = structuredClone(d.status ?? {});
    if (d.spec?.paused && !pausedCond) setCondition(status, this.condition('Progressing', 'Unknown', REASON.paused, 'Deployment is paused'));
    else if (!d.spec?.paused && pausedCond) setCondition(status, this.condition('Progressing', 'Unknown', REASON.resumed, 'Deployment is resumed'));
    else return d;
    return writeStatus(this.deps.client, refs.deployments, d, status);
  }
}

// Upstream leaves zero counters out of the JSON (omitempty), and kubectl treats absent as 0.
function omitZeros(s: DeploymentStatus): DeploymentStatus {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (v === 0 && k !== 'observedGeneration') continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out as DeploymentStatus;
}

function sortConditions(s: DeploymentStatus): DeploymentStatus {
  return { ...s, ...(s.conditions ? { conditions: [...s.conditions].sort((a, b) => (a.type < b.type ? -1 : 1)) } : {}) };
}

function byNewest(a: ReplicaSetObj, b: ReplicaSetObj): number {
  return (Date.parse(b.metadata.creationTimestamp ?? '') || 0) - (Date.parse(a.metadata.creationTimestamp ?? '') || 0);
}

// Exported for tests of the arithmetic.
export { surgeAndUnavailable };
