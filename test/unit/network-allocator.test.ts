import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceAllocator } from '../../src/network/allocator.ts';
import type { KubeObject } from '../../src/api/meta.ts';

let uidSeq = 0;
function svc(spec: Record<string, unknown>, uid = `uid-${++uidSeq}`): KubeObject {
  return { metadata: { name: `s${uidSeq}`, namespace: 'default', uid }, spec: { type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP' }], ...spec } };
}
const spec = (o: KubeObject) => o.spec as Record<string, unknown> & { ports: Array<Record<string, unknown>> };

test('cluster IPs: dynamic, chosen, taken, out of range, headless, ExternalName', async (t) => {
  const cases: Array<{ name: string; spec: Record<string, unknown>; pre?: string[]; ip?: string | null; error?: RegExp }> = [
    { name: 'dynamic comes from above the static band', spec: {}, ip: '10.43.1.0' },
    { name: 'chosen in range', spec: { clusterIP: '10.43.0.5' }, ip: '10.43.0.5' },
    { name: 'chosen via clusterIPs', spec: { clusterIPs: ['10.43.7.7'] }, ip: '10.43.7.7' },
    { name: 'taken', spec: { clusterIP: '10.43.0.5' }, pre: ['10.43.0.5'], error: /^failed to allocate IP 10\.43\.0\.5: provided IP is already allocated$/ },
    { name: 'outside the range', spec: { clusterIP: '10.44.0.5' }, error: /not in the valid range. The range of valid IPs is 10\.43\.0\.0\/16/ },
    { name: 'network address', spec: { clusterIP: '10.43.0.0' }, error: /not in the valid range/ },
    { name: 'broadcast address', spec: { clusterIP: '10.43.255.255' }, error: /not in the valid range/ },
    { name: 'not an IP', spec: { clusterIP: 'nope' }, error: /must be a valid IP address/ },
    { name: 'headless gets none', spec: { clusterIP: 'None' }, ip: null },
    { name: 'ExternalName gets none', spec: { type: 'ExternalName', externalName: 'x.example', clusterIP: '' }, ip: undefined },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const a = new ServiceAllocator();
      for (const ip of c.pre ?? []) assert.deepEqual(a.admitCreate(svc({ clusterIP: ip })), []);
      const s = svc(c.spec);
      const errs = a.admitCreate(s);
      if (c.error) {
        assert.equal(errs.length, 1);
        assert.match(errs[0]!.detail ?? '', c.error);
        assert.equal(a.allocatedIPs, c.pre?.length ?? 0, 'a refused Service holds nothing');
        return;
      }
      assert.deepEqual(errs, []);
      if (c.ip === null) assert.deepEqual(spec(s).clusterIPs, ['None']);
      else if (c.ip === undefined) assert.equal(spec(s).clusterIP, undefined);
      else {
        assert.equal(spec(s).clusterIP, c.ip);
        assert.deepEqual(spec(s).clusterIPs, [c.ip]);
        assert.ok(a.isIPAllocated(c.ip));
      }
    });
  }
});

test('node ports: auto, chosen, collisions, range, same port for TCP and UDP, all-or-nothing', () => {
  const a = new ServiceAllocator();
  const s1 = svc({ type: 'NodePort', ports: [{ name: 'a', port: 80, protocol: 'TCP' }, { name: 'b', port: 81, protocol: 'TCP', nodePort: 30080 }] });
  assert.deepEqual(a.admitCreate(s1), []);
  assert.equal(spec(s1).ports[0]!.nodePort, 30000);
  assert.equal(spec(s1).ports[1]!.nodePort, 30080);

  const clash = svc({ type: 'NodePort', clusterIP: '10.43.0.50', ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] });
  const errs = a.admitCreate(clash);
  assert.equal(errs.length, 1);
  assert.equal(errs[0]!.field, 'spec.ports[0].nodePort');
  assert.equal(errs[0]!.detail, 'provided port is already allocated');
  assert.equal(a.isIPAllocated('10.43.0.50'), false, 'the chosen IP of a refused Service is released');

  const low = a.admitCreate(svc({ type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', nodePort: 80 }] }));
  assert.match(low[0]!.detail ?? '', /provided port is not in the valid range. The range of valid ports is 30000-32767/);

  const dns = svc({ type: 'NodePort', ports: [{ name: 'u', port: 53, protocol: 'UDP' }, { name: 't', port: 53, protocol: 'TCP' }] });
  assert.deepEqual(a.admitCreate(dns), []);
  assert.equal(spec(dns).ports[0]!.nodePort, spec(dns).ports[1]!.nodePort);

  const lbNoPorts = svc({ type: 'LoadBalancer', allocateLoadBalancerNodePorts: false });
  assert.deepEqual(a.admitCreate(lbNoPorts), []);
  assert.equal(spec(lbNoPorts).ports[0]!.nodePort, undefined);
});

test('update: type change adds or drops node ports; own ports are not a collision', () => {
  const a = new ServiceAllocator();
  const s = svc({});
  assert.deepEqual(a.admitCreate(s), []);
  a.observe(s);
  const np = structuredClone(s);
  spec(np).type = 'NodePort';
  assert.deepEqual(a.admitUpdate(np, s), []);
  const port = spec(np).ports[0]!.nodePort as number;
  assert.ok(a.isNodePortAllocated(port));
  a.observe(np);
  const again = structuredClone(np);
  assert.deepEqual(a.admitUpdate(again, np), [], 'unchanged node port is still ours');
  const back = structuredClone(np);
  spec(back).type = 'ClusterIP';
  assert.deepEqual(a.admitUpdate(back, np), []);
  assert.equal(spec(back).ports[0]!.nodePort, undefined);
  a.observe(back);
  assert.equal(a.isNodePortAllocated(port), false, 'confirmed without the port → released');
});

test('state from the store: rebuild, forget on delete, tentative expiry, conflicts', () => {
  let now = 0;
  const a = new ServiceAllocator({ now: () => now, tentativeTtlMs: 1000 });
  const stored = [svc({ clusterIP: '10.43.0.1', clusterIPs: ['10.43.0.1'] }), svc({ type: 'NodePort', clusterIP: '10.43.3.3', ports: [{ port: 1, nodePort: 31000 }] })];
  a.rebuild(stored);
  assert.ok(a.isIPAllocated('10.43.0.1') && a.isIPAllocated('10.43.3.3') && a.isNodePortAllocated(31000));
  assert.match(a.admitCreate(svc({ clusterIP: '10.43.0.1' }))[0]!.detail ?? '', /already allocated/);

  a.forget(stored[0]!);
  assert.deepEqual(a.admitCreate(svc({ clusterIP: '10.43.0.1' })), [], 'released by the delete');

  // A dry run / failed write: tentative, never confirmed, expires.
  assert.deepEqual(a.admitCreate(svc({ clusterIP: '10.43.9.9' })), []);
  now = 5000;
  assert.deepEqual(a.admitCreate(svc({ clusterIP: '10.43.9.9' })), [], 'expired tentative allocation is free again');

  // Two stored Services claiming one IP (a corrupt store): the first keeps it, the clash is reported.
  const b = new ServiceAllocator();
  b.rebuild([svc({ clusterIP: '10.43.4.4', clusterIPs: ['10.43.4.4'] }), svc({ clusterIP: '10.43.4.4', clusterIPs: ['10.43.4.4'] })]);
  assert.equal(b.conflicts.length, 1);

  // Rebuild drops owners that are gone.
  a.rebuild([]);
  assert.equal(a.isNodePortAllocated(31000), false);
});

test('dynamic allocation never hands out one IP twice and falls back to the low band', () => {
  const a = new ServiceAllocator({ serviceCIDR: '10.99.0.0/24' });
  const seen = new Set<string>();
  for (let i = 0; i < 254; i++) {
    const s = svc({});
    assert.deepEqual(a.admitCreate(s), []);
    const ip = spec(s).clusterIP as string;
    assert.ok(!seen.has(ip), ip);
    seen.add(ip);
  }
  assert.ok(seen.has('10.99.0.1') && seen.has('10.99.0.254') && !seen.has('10.99.0.0') && !seen.has('10.99.0.255'));
  const full = a.admitCreate(svc({}));
  assert.match(full[0]!.detail ?? '', /range is full/);
});
