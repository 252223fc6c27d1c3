// Patch benchmark: strategic merge patch and server-side apply on a realistic Deployment, each
// against a plain baseline doing comparable copying. `npm run bench -- patch [--quick]`
import { apply, updateManagedFields } from '../../src/apiserver/apply/apply.ts';
import { builtInSchema } from '../../src/apiserver/apply/schema-oracle.ts';
import { applyStrategicMergePatch } from '../../src/apiserver/patch/strategic.ts';

type Obj = Record<string, unknown>;

function deployment(image: string): Obj {
  const container = (name: string) => ({
    name, image, imagePullPolicy: 'IfNotPresent',
    ports: [{ containerPort: 8080, protocol: 'TCP', name: 'http' }, { containerPort: 9090, protocol: 'TCP', name: 'metrics' }],
    env: Array.from({ length: 8 }, (_, i) => ({ name: `VAR_${i}`, value: `value-${i}` })),
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    volumeMounts: [{ name: 'config', mountPath: '/etc/app' }, { name: 'data', mountPath: '/data' }],
    readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 5 },
  });
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web', tier: 'frontend' }, annotations: { 'example.com/owner': 'team-a' } },
    spec: {
      replicas: 3, selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web', tier: 'frontend' } },
        spec: {
          containers: [container('app'), container('sidecar')],
          volumes: [{ name: 'config', configMap: { name: 'web-config' } }, { name: 'data', emptyDir: {} }],
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }],
        },
      },
    },
  };
}

function time(label: string, n: number, fn: () => void): number {
  for (let i = 0; i < Math.min(200, n); i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / n;
  console.log(`${label.padEnd(52)} ${us.toFixed(2).padStart(8)} µs/op`);
  return us;
}

export function main(args: string[]): void {
  const n = args.includes('--quick') ? 500 : 5000;
  const schema = builtInSchema({ group: 'apps', version: 'v1', kind: 'Deployment' });
  const live = deployment('app:1');
  // What `kubectl apply` sends for an image bump: a 3-way patch with $setElementOrder.
  const smp = { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }], containers: [{ name: 'app', image: 'app:2' }] } } } };
  console.log(`patch benchmark, ${n} iterations each`);
  const smpUs = time('SMP image bump (applyStrategicMergePatch)', n, () => applyStrategicMergePatch(live, smp, schema));
  const smpBase = time('baseline structuredClone + Object.assign', n, () => {
    const c = structuredClone(live);
    Object.assign(c.spec as Obj, { replicas: 4 });
  });
  const mf = updateManagedFields('kubectl-client-side-apply', 'Update', undefined, live, { apiVersion: 'apps/v1', schema });
  const stored: Obj = { ...live, metadata: { ...(live.metadata as Obj), uid: 'u', managedFields: mf } };
  const applied = deployment('app:2');
  const first = apply('kubectl', applied, stored, { apiVersion: 'apps/v1', schema, force: true }).result;
  const ssaUs = time('SSA apply of a Deployment (owned, image bump)', n, () => apply('kubectl', deployment('app:3'), first, { apiVersion: 'apps/v1', schema }));
  const ssaBase = time('baseline JSON.parse(JSON.stringify(live + applied))', n, () => {
    JSON.parse(JSON.stringify(first));
    JSON.parse(JSON.stringify(applied));
  });
  const updUs = time('updateManagedFields on an update', n, () => updateManagedFields('kubectl-edit', 'Update', first, applied, { apiVersion: 'apps/v1', schema }));
  console.log(`ratios: SMP/baseline ${(smpUs / smpBase).toFixed(2)}x, SSA/baseline ${(ssaUs / ssaBase).toFixed(2)}x, update bookkeeping ${(updUs / ssaBase).toFixed(2)}x of the SSA baseline`);
}
