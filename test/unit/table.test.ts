// Golden rows for the printers kubectl shows most.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { builtinRegistry } from '../../src/registry/index.ts';
import { toTable } from '../../src/apiserver/table/table.ts';
import type { KubeObject } from '../../src/api/meta.ts';

const reg = builtinRegistry();
const now = Date.parse('2025-01-01T01:00:00Z');
const created = '2025-01-01T00:00:00Z';

function row(group: string, plural: string, o: KubeObject): unknown[] {
  const def = reg.byResource(group, group === '' ? 'v1' : reg.preferredVersion(group)!, plural)!;
  const t = toTable(def, o, { include: 'None', now }) as { rows: { cells: unknown[] }[]; columnDefinitions: { name: string }[] };
  assert.equal(t.columnDefinitions.length, t.rows[0]!.cells.length, 'one cell per column');
  return t.rows[0]!.cells;
}

const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, namespace: 'default', creationTimestamp: created, ...extra });

describe('table printers', () => {
  it('pod: running, restarts with last restart age', () => {
    const pod = {
      metadata: meta('web-1'),
      spec: { nodeName: 'n1', containers: [{ name: 'a' }, { name: 'b' }] },
      status: {
        phase: 'Running',
        podIP: '10.42.0.5',
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [
          { name: 'a', ready: true, restartCount: 3, state: { running: {} }, lastState: { terminated: { finishedAt: '2025-01-01T00:55:00Z' } } },
          { name: 'b', ready: false, restartCount: 0, state: { waiting: { reason: 'CrashLoopBackOff' } } },
        ],
      },
    };
    assert.deepEqual(row('', 'pods', pod), ['web-1', '1/2', 'CrashLoopBackOff', '3 (5m ago)', '60m', '10.42.0.5', 'n1', '<none>', '<none>']);
  });

  it('pod: init containers, pending, terminating', () => {
    const base = { spec: { initContainers: [{ name: 'i1' }, { name: 'i2' }], containers: [{ name: 'a' }] } };
    const init = { ...base, metadata: meta('p'), status: { phase: 'Pending', initContainerStatuses: [{ name: 'i1', state: { terminated: { exitCode: 0 } } }, { name: 'i2', state: { running: {} } }] } };
    assert.equal(row('', 'pods', init)[2], 'Init:1/2');
    const failed = { ...base, metadata: meta('p'), status: { phase: 'Pending', initContainerStatuses: [{ name: 'i1', state: { terminated: { exitCode: 2 } } }] } };
    assert.equal(row('', 'pods', failed)[2], 'Init:ExitCode:2');
    const term = { ...base, metadata: meta('p', { deletionTimestamp: created }), status: { phase: 'Running' } };
    assert.equal(row('', 'pods', term)[2], 'Terminating');
    const pending = { spec: { containers: [{ name: 'a' }] }, metadata: meta('p'), status: { phase: 'Pending' } };
    assert.deepEqual(row('', 'pods', pending).slice(1, 4), ['0/1', 'Pending', '0']);
  });

  it('deployment', () => {
    const d = {
      metadata: meta('web'),
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1' }] } } },
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    };
    assert.deepEqual(row('apps', 'deployments', d), ['web', '2/3', 3, 2, '60m', 'nginx', 'nginx:1', 'app=web']);
  });

  it('service', () => {
    const s = {
      metadata: meta('web'),
      spec: { type: 'NodePort', clusterIP: '10.43.0.20', selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP' }, { port: 443, nodePort: 30443, protocol: 'TCP' }] },
    };
    assert.deepEqual(row('', 'services', s), ['web', 'NodePort', '10.43.0.20', '<none>', '80/TCP,443:30443/TCP', '60m', 'app=web']);
    const lb = { metadata: meta('lb'), spec: { type: 'LoadBalancer', clusterIP: '10.43.0.21', ports: [{ port: 80, protocol: 'TCP' }] } };
    assert.equal(row('', 'services', lb)[3], '<pending>');
  });

  it('node', () => {
    const n = {
      metadata: { name: 'n1', creationTimestamp: created, labels: { 'node-role.kubernetes.io/control-plane': '' } },
      spec: { unschedulable: true },
      status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '172.18.0.2' }], nodeInfo: { kubeletVersion: 'v1.32.4', osImage: 'Linux', kernelVersion: '6.1', containerRuntimeVersion: 'docker://20.10' } },
    };
    assert.deepEqual(row('', 'nodes', n), ['n1', 'Ready,SchedulingDisabled', 'control-plane', '60m', 'v1.32.4', '172.18.0.2', '<none>', 'Linux', '6.1', 'docker://20.10']);
  });

  it('namespace, configmap, secret, serviceaccount, event, replicaset, job', () => {
    assert.deepEqual(row('', 'namespaces', { metadata: { name: 'ns', creationTimestamp: created }, status: { phase: 'Active' } }), ['ns', 'Active', '60m']);
    assert.deepEqual(row('', 'configmaps', { metadata: meta('c'), data: { a: '1' }, binaryData: { b: '' } }), ['c', 2, '60m']);
    assert.deepEqual(row('', 'secrets', { metadata: meta('s'), type: 'Opaque', data: { a: 'MQ==' } }), ['s', 'Opaque', 1, '60m']);
    assert.deepEqual(row('', 'serviceaccounts', { metadata: meta('default') }), ['default', 0, '60m']);
    const ev = { metadata: meta('e1'), type: 'Normal', reason: 'Scheduled', involvedObject: { kind: 'Pod', name: 'web-1' }, message: 'ok ', lastTimestamp: '2025-01-01T00:59:00Z', firstTimestamp: created, count: 2, source: { component: 'default-scheduler' } };
    assert.deepEqual(row('', 'events', ev), ['60s', 'Normal', 'Scheduled', 'pod/web-1', '', 'default-scheduler', 'ok', '60m', 2, 'e1']);
    const rs = { metadata: meta('r'), spec: { replicas: 2, selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } }, status: { replicas: 2, readyReplicas: 1 } };
    assert.deepEqual(row('apps', 'replicasets', rs), ['r', 2, 2, 1, '60m', 'c', 'i', 'a=b']);
    const job = { metadata: meta('j'), spec: { completions: 1, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } }, status: { succeeded: 1, startTime: created, completionTime: '2025-01-01T00:00:12Z', conditions: [{ type: 'Complete', status: 'True' }] } };
    assert.deepEqual(row('batch', 'jobs', job).slice(0, 5), ['j', 'Complete', '1/1', '12s', '60m']);
  });

  it('kinds without a printer get Name + Created At', () => {
    const cells = row('rbac.authorization.k8s.io', 'roles', { metadata: meta('r') });
    assert.deepEqual(cells, ['r', created]);
  });
});
