// ControllerRevisions for StatefulSets and DaemonSets: the template stored as the patch that
// `kubectl rollout undo` applies (`{"spec":{"template":{..., "$patch":"replace"}}}`), named
// <owner>-<hash of that data>, numbered 1, 2, ... with the newest highest.
import type { Client, KubeObject, ObjectMeta } from '../../client/types.ts';
import { isAlreadyExists } from '../../client/types.ts';
import { computeHash, controllerRefOf, ownerRefTo, refs, canonicalJson } from '../replicaset/podutil.ts';

export interface ControllerRevisionObj extends KubeObject {
  metadata: ObjectMeta;
  data?: { spec?: { template?: Record<string, unknown> } };
  revision: number;
}

export const REVISION_LABEL = 'controller-revision-hash';

export function revisionData(template: unknown): ControllerRevisionObj['data'] {
  return { spec: { template: { ...(structuredClone(template) as Record<string, unknown>), $patch: 'replace' } } };
}

export function templateOf(rev: ControllerRevisionObj): Record<string, unknown> {
  const t = { ...(rev.data?.spec?.template ?? {}) };
  delete t.$patch;
  return t;
}

/**
 * The revision matching `template`, created (with the next number) if none does; an equal
 * revision that is not the newest is renumbered to the top, as a rollback does upstream.
 */
export async function ensureRevision(client: Client, owner: KubeObject, kind: string, template: unknown, existing: ControllerRevisionObj[], collisionCount = 0): Promise<{ revision: ControllerRevisionObj; all: ControllerRevisionObj[] }> {
  const data = revisionData(template);
  const wanted = canonicalJson(data);
  const max = existing.reduce((m, r) => Math.max(m, r.revision), 0);
  const equal = existing.filter((r) => canonicalJson(r.data) === wanted).sort((a, b) => b.revision - a.revision)[0];
  if (equal) {
    if (equal.revision === max) return { revision: equal, all: existing };
    const updated = await client.update<ControllerRevisionObj>(refs.controllerrevisions, { ...structuredClone(equal), revision: max + 1 });
    return { revision: updated, all: existing.map((r) => (r === equal ? updated : r)) };
  }
  const hash = computeHash(data, collisionCount || undefined);
  const tplLabels = ((template as { metadata?: { labels?: Record<string, string> } })?.metadata?.labels) ?? {};
  const body: ControllerRevisionObj = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { name: `${owner.metadata.name}-${hash}`, namespace: owner.metadata.namespace, labels: { ...tplLabels, [REVISION_LABEL]: hash }, ownerReferences: [ownerRefTo(owner, 'apps/v1', kind)] },
    data,
    revision: max + 1,
  };
  try {
    const created = await client.create(refs.controllerrevisions, body);
    return { revision: created, all: [...existing, created] };
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    const found = await client.get<ControllerRevisionObj>(refs.controllerrevisions, body.metadata.name ?? '', owner.metadata.namespace);
    if (controllerRefOf(found)?.uid === owner.metadata.uid && canonicalJson(found.data) === wanted) return { revision: found, all: [...existing, found] };
    throw new Error(`ControllerRevision ${body.metadata.name} exists with other data (hash collision)`);
  }
}

/** Old revisions beyond the history limit that no live pod uses are deleted, oldest first. */
export async function pruneRevisions(client: Client, revisions: ControllerRevisionObj[], inUse: Set<string>, limit: number): Promise<void> {
  const candidates = revisions.filter((r) => !inUse.has(r.metadata.name ?? '')).sort((a, b) => a.revision - b.revision);
  const excess = candidates.length - limit;
  for (let i = 0; i < excess; i++) {
    const r = candidates[i]!;
    await client.delete(refs.controllerrevisions, r.metadata.name ?? '', { namespace: r.metadata.namespace }).catch(() => undefined);
  }
}
