// `nanokube delete`: remove a cluster's iptables chains even when its server died without cleaning
// up. Both backends are swept — the one in use may have changed since the chains were written.
import { clusterTag, createIptablesRunner, removeClusterRules, type Exec } from '../proxy/index.ts';

/** Returns what was removed, e.g. "iptables chains NK-ABCDEF (nft)", or undefined when nothing was there. */
export async function removeClusterIptables(clusterName: string, exec?: Exec): Promise<string | undefined> {
  if (process.getuid?.() !== 0 && !exec) return undefined; // without root we never wrote any
  const tag = clusterTag(clusterName);
  const removed: string[] = [];
  for (const backend of ['nft', 'legacy'] as const) {
    try {
      if (await removeClusterRules(createIptablesRunner({ backend, ...(exec ? { exec } : {}) }), tag)) removed.push(backend);
    } catch {
      // That backend's tools are missing: nothing of ours can be there.
    }
  }
  return removed.length ? `iptables chains ${tag} (${removed.join(', ')})` : undefined;
}
