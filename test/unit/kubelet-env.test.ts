// Tables for the kubelet's environment: $(VAR) expansion, fieldRef/resourceFieldRef, configMap and
// secret refs (optional or not), envFrom prefixes, service link variables.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContainerConfigError, expandCommand, resolveEnv, serviceEnv, type ObjectSource } from '../../src/kubelet/env.ts';
import { expandVars } from '../../src/kubelet/expand.ts';
import type { Container, Pod, Service } from '../../src/kubelet/k8s.ts';

describe('$(VAR) expansion', () => {
  const vars: Record<string, string> = { A: 'a', B: 'b', EMPTY: '' };
  const cases: Array<[string, string]> = [
    ['$(A)', 'a'],
    ['x$(A)y$(B)z', 'xaybz'],
    ['$(MISSING)', '$(MISSING)'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$a'],
    ['$(A', '$(A'],
    ['$A', '$A'],
    ['cost $5', 'cost $5'],
    ['$(EMPTY)x', 'x'],
    ['$()', '$()'],
    ['end$', 'end$'],
  ];
  for (const [input, want] of cases) it(`${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => assert.equal(expandVars(input, (n) => vars[n]), want));
});

const pod: Pod = {
  metadata: { name: 'p', namespace: 'ns', uid: 'u-1', labels: { app: 'web' }, annotations: { note: 'hi' } },
  spec: {
    nodeName: 'n1',
    serviceAccountName: 'sa',
    containers: [{ name: 'app', image: 'i', resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { memory: '128Mi' } } }],
  },
};
const facts = { hostIP: '192.168.1.10', podIP: '10.42.0.7', podIPs: ['10.42.0.7'], nodeAllocatable: { cpu: '4', memory: '8Gi' } };
const sources = (services: Service[] = []): ObjectSource => ({
  configMap: async (ns, name) => (ns === 'ns' && name === 'cm' ? { data: { k: 'v', 'x.y': 'dot', 'bad=key': 'no' } } : undefined),
  secret: async (ns, name) => (ns === 'ns' && name === 's' ? { data: { pw: Buffer.from('secret!').toString('base64') } } : undefined),
  services: (ns) => services.filter((s) => s.metadata?.namespace === ns),
});
const envOf = async (c: Partial<Container>, svcs: Service[] = [], p: Pod = pod) => {
  const env = await resolveEnv(p, { name: 'app', image: 'i', ...c } as Container, sources(svcs), facts);
  return Object.fromEntries(env.map((e) => [e.name, e.value]));
};

describe('env resolution', () => {
  const field = (fieldPath: string) => ({ name: 'V', valueFrom: { fieldRef: { fieldPath } } });
  const table: Array<[string, string]> = [
    ['metadata.name', 'p'],
    ['metadata.namespace', 'ns'],
    ['metadata.uid', 'u-1'],
    ["metadata.labels['app']", 'web'],
    ["metadata.annotations['note']", 'hi'],
    ["metadata.labels['none']", ''],
    ['spec.nodeName', 'n1'],
    ['spec.serviceAccountName', 'sa'],
    ['status.hostIP', '192.168.1.10'],
    ['status.podIP', '10.42.0.7'],
    ['status.podIPs', '10.42.0.7'],
  ];
  for (const [path, want] of table) it(`fieldRef ${path}`, async () => assert.equal((await envOf({ env: [field(path)] })).V, want));

  const resource = (resource: string, divisor?: string) => ({ name: 'R', valueFrom: { resourceFieldRef: { resource, ...(divisor ? { divisor } : {}) } } });
  const rtable: Array<[string, string | undefined, string]> = [
    ['requests.cpu', undefined, '1'],
    ['requests.cpu', '1m', '250'],
    ['limits.cpu', undefined, '4'],
    ['requests.memory', undefined, String(64 * 2 ** 20)],
    ['limits.memory', '1Mi', '128'],
  ];
  for (const [r, d, want] of rtable) it(`resourceFieldRef ${r} / ${d ?? '1'}`, async () => assert.equal((await envOf({ env: [resource(r, d)] })).R, want));

  it('configMap and secret keys, optional refs, envFrom with prefix, later entries expand earlier ones', async () => {
    const env = await envOf({
      envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }, { secretRef: { name: 'gone', optional: true } }],
      env: [
        { name: 'K', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'pw' } } },
        { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'cm', key: 'missing', optional: true } } },
        { name: 'BOTH', value: '$(K)-$(CM_k)-$(NOPE)' },
      ],
    });
    assert.equal(env.CM_k, 'v');
    assert.equal(env['CM_x.y'], 'dot');
    assert.equal(env['CM_bad=key'], undefined);
    assert.equal(env.K, 'v');
    assert.equal(env.PW, 'secret!');
    assert.equal('OPT' in env, false);
    assert.equal(env.BOTH, 'v-v-$(NOPE)');
  });

  const failing: Array<[string, Partial<Container>, string]> = [
    ['missing configMap', { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }, 'configmap "nope" not found'],
    ['missing key', { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'zz' } } }] }, "couldn't find key zz in ConfigMap ns/cm"],
    ['missing secret', { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] }, 'secret "nope" not found'],
    ['missing secret key', { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'zz' } } }] }, "couldn't find key zz in Secret ns/s"],
    ['missing envFrom', { envFrom: [{ configMapRef: { name: 'nope' } }] }, 'configmap "nope" not found'],
  ];
  for (const [what, c, message] of failing) {
    it(`${what} → CreateContainerConfigError`, async () => {
      await assert.rejects(envOf(c), (err: unknown) => err instanceof ContainerConfigError && err.message === message);
    });
  }

  it('expands command and args over the final environment', () => {
    assert.deepEqual(expandCommand(['echo', '$(A)', '$$(A)', '$(B)'], [{ name: 'A', value: '1' }]), ['echo', '1', '$(A)', '$(B)']);
  });
});

describe('service link variables', () => {
  const svc = (ns: string, name: string, ip: string, ports: Array<{ name?: string; port: number; protocol?: string }>, type?: string): Service => ({
    metadata: { namespace: ns, name },
    spec: { clusterIP: ip, ports, ...(type ? { type } : {}) },
  });
  const services = [
    svc('ns', 'redis-primary', '10.43.0.20', [{ name: 'redis', port: 6379 }, { name: 'metrics', port: 9121, protocol: 'TCP' }]),
    svc('ns', 'headless', 'None', [{ port: 80 }]),
    svc('ns', 'ext', '', [], 'ExternalName'),
    svc('other', 'elsewhere', '10.43.0.30', [{ port: 80 }]),
    svc('default', 'kubernetes', '10.43.0.1', [{ name: 'https', port: 443 }]),
  ];

  it('builds upstream names for the namespace and the API service', () => {
    const env = serviceEnv('ns', true, services);
    assert.equal(env.get('REDIS_PRIMARY_SERVICE_HOST'), '10.43.0.20');
    assert.equal(env.get('REDIS_PRIMARY_SERVICE_PORT'), '6379');
    assert.equal(env.get('REDIS_PRIMARY_SERVICE_PORT_METRICS'), '9121');
    assert.equal(env.get('REDIS_PRIMARY_PORT'), 'tcp://10.43.0.20:6379');
    assert.equal(env.get('REDIS_PRIMARY_PORT_6379_TCP'), 'tcp://10.43.0.20:6379');
    assert.equal(env.get('REDIS_PRIMARY_PORT_6379_TCP_PROTO'), 'tcp');
    assert.equal(env.get('REDIS_PRIMARY_PORT_6379_TCP_PORT'), '6379');
    assert.equal(env.get('REDIS_PRIMARY_PORT_6379_TCP_ADDR'), '10.43.0.20');
    assert.equal(env.get('KUBERNETES_SERVICE_HOST'), '10.43.0.1');
    assert.equal(env.get('KUBERNETES_SERVICE_PORT_HTTPS'), '443');
    assert.equal(env.has('HEADLESS_SERVICE_HOST'), false);
    assert.equal(env.has('EXT_SERVICE_HOST'), false);
    assert.equal(env.has('ELSEWHERE_SERVICE_HOST'), false);
  });

  it('keeps only the API service with enableServiceLinks false', () => {
    const env = serviceEnv('ns', false, services);
    assert.equal(env.get('KUBERNETES_SERVICE_HOST'), '10.43.0.1');
    assert.equal(env.has('REDIS_PRIMARY_SERVICE_HOST'), false);
  });

  it('lets container env override service variables and expand them', async () => {
    const env = await envOf({ env: [{ name: 'URL', value: 'redis://$(REDIS_PRIMARY_SERVICE_HOST)' }, { name: 'KUBERNETES_SERVICE_HOST', value: 'mine' }] }, services);
    assert.equal(env.URL, 'redis://10.43.0.20');
    assert.equal(env.KUBERNETES_SERVICE_HOST, 'mine');
  });
});
