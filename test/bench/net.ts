// Service networking figures: proxy state + rules for 1000 Services, a full sync into a scratch
// network namespace vs the raw iptables-restore of the same text, in the same run.
// Run: node --import tsx test/bench/net.ts   (root; iptables-nft/legacy and iproute2)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { buildRules, clusterTag, createIptablesRunner, detectIptablesBackend, syncProxyRules } from '../../src/proxy/index.ts';
import { buildProxyState } from '../../src/network/proxy-state.ts';
import type { SliceObj, SvcObj } from '../../src/network/endpoint-model.ts';

function fixture(n: number): { services: SvcObj[]; slices: SliceObj[] } {
  const services: SvcObj[] = [];
  const slices: SliceObj[] = [];
  for (let i = 0; i < n; i++) {
    const name = `svc-${i}`;
    services.push({ metadata: { name, namespace: 'bench' }, spec: { clusterIP: `10.43.${(i >> 8) + 1}.${i & 255}`, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
    slices.push({
      metadata: { name: `${name}-x`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [0, 1].map((k) => ({ addresses: [`10.42.${(i >> 7) & 255}.${((i * 2 + k) & 253) + 2}`], conditions: { ready: true } })),
    });
  }
  return { services, slices };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function main(): Promise<void> {
  const n = 1000;
  const { services, slices } = fixture(n);
  const tag = clusterTag(`bench-${randomBytes(3).toString('hex')}`);
  const stateMs: number[] = [];
  const rulesMs: number[] = [];
  let text = '';
  for (let r = 0; r < 5; r++) {
    let t = performance.now();
    const state = buildProxyState({ tag, podCIDR: '10.42.0.0/16', serviceCIDR: '10.43.0.0/16', services, slices });
    stateMs.push(performance.now() - t);
    t = performance.now();
    text = buildRules(state);
    rulesMs.push(performance.now() - t);
  }
  console.log(`${n} services: state ${median(stateMs).toFixed(1)} ms, buildRules ${median(rulesMs).toFixed(1)} ms, ${text.split('\n').length} lines`);
  if (process.getuid?.() !== 0) {
    console.log('not root: iptables figures skipped');
    return;
  }
  const ns = `nk-bench-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const { backend } = await detectIptablesBackend();
    const runner = createIptablesRunner({ backend, netns: ns });
    const state = buildProxyState({ tag, podCIDR: '10.42.0.0/16', serviceCIDR: '10.43.0.0/16', services, slices });
    const syncMs: number[] = [];
    const rawMs: number[] = [];
    for (let r = 0; r < 3; r++) {
      const s = await syncProxyRules(runner, state);
      syncMs.push(s.durationMs);
      const t = performance.now();
      execFileSync('ip', ['netns', 'exec', ns, `iptables-${backend}-restore`, '-w', '5', '--noflush'], { input: s.input });
      rawMs.push(performance.now() - t);
    }
    console.log(`full sync (save + build + restore): ${median(syncMs).toFixed(0)} ms; raw iptables-restore of the same text: ${median(rawMs).toFixed(0)} ms (${backend}); goal ≤ 200 ms`);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
