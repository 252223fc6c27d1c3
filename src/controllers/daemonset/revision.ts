// The pod template as a DaemonSet ControllerRevision stores it. `kubectl rollout undo daemonset`
// decides "already at that revision" by comparing bytes: it re-encodes the live template the way
// Go does (typed round trip, then every object's keys sorted, "$patch":"replace" among them) and
// compares that with the revision's data verbatim. So the data is written in that same shape.

/** Sorted keys at every level, as Go's encoding/json writes a map[string]interface{}. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = sortKeys(x);
  }
  return out;
}

// Fields Go always writes even when empty, because they are structs rather than pointers:
// metadata.creationTimestamp (as null) and each container's resources (as {}).
function withGoDefaults(template: Record<string, unknown>): Record<string, unknown> {
  const t = structuredClone(template);
  const meta = (t.metadata ?? {}) as Record<string, unknown>;
  if (!('creationTimestamp' in meta)) meta.creationTimestamp = null;
  t.metadata = meta;
  const spec = t.spec as Record<string, unknown> | undefined;
  for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
    const cs = spec?.[list];
    if (!Array.isArray(cs)) continue;
    for (const c of cs as Array<Record<string, unknown>>) c.resources ??= {};
  }
  return t;
}

/**
 * The template to hand to ensureRevision: Go's shape, with "$patch" already in its sorted place
 * (first) so that the key ensureRevision sets keeps that position.
 */
export function revisionTemplate(template: unknown): Record<string, unknown> {
  const sorted = sortKeys({ ...withGoDefaults((template ?? {}) as Record<string, unknown>), $patch: 'replace' }) as Record<string, unknown>;
  return sorted;
}
