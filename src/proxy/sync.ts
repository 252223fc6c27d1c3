// One proxy sync (read what is ours, write the desired rules in one transaction) and the removal of
// everything a cluster put into iptables.
import { buildRemoval, buildRules, parseIptablesSave } from './rules.ts';
import type { ProxyState } from './rules.ts';
import { isClusterTag } from './naming.ts';
import type { IptablesRunner } from './iptables.ts';

export interface SyncResult {
  /** The iptables-restore input that was applied. */
  input: string;
  durationMs: number;
}

export async function syncProxyRules(runner: IptablesRunner, state: ProxyState): Promise<SyncResult> {
  const started = performance.now();
  const existing = parseIptablesSave(await runner.save(), state.tag);
  const input = buildRules(state, existing);
  await runner.restore(input, { noflush: true });
  return { input, durationMs: performance.now() - started };
}

/** Delete our jumps from the built-in chains and all chains with our tag. Returns false if there were none. */
export async function removeClusterRules(runner: IptablesRunner, tag: string): Promise<boolean> {
  if (!isClusterTag(tag)) throw new Error(`refusing to remove rules for ${JSON.stringify(tag)}: not a cluster tag`);
  const input = buildRemoval(parseIptablesSave(await runner.save(), tag));
  if (!input) return false;
  await runner.restore(input, { noflush: true });
  return true;
}
