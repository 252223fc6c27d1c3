import { isObject, type KubeObject } from '../../../api/meta.ts';
import { fieldDuplicate, fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../../../api/status.ts';
import { isDNS1123Label } from '../../../api/validation.ts';
import { AGE_COLUMN, ageOf, arr, col, NAME_COLUMN, nameOf, obj, statusSubresource } from '../common.ts';
import type { ResourceDef } from '../../types.ts';

const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

function externalIP(o: KubeObject): string {
  const spec = obj(o.spec);
  const ext = arr(spec.externalIPs).map(String);
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return ext.length ? ext.join(',') : '<none>';
    case 'LoadBalancer': {
      const ing = arr(obj(obj(obj(o.status).loadBalancer)).ingress).map(obj).map((i) => String(i.ip ?? i.hostname ?? ''));
      const all = [...ing, ...ext].filter(Boolean);
      return all.length ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return String(spec.externalName ?? '');
    default:
      return '<unknown>';
  }
}

function portsText(o: KubeObject): string {
  const ports = arr(obj(o.spec).ports).map(obj);
  if (ports.length === 0) return '<none>';
  return ports.map((p) => (p.nodePort ? `${String(p.port)}:${String(p.nodePort)}/${String(p.protocol ?? 'TCP')}` : `${String(p.port)}/${String(p.protocol ?? 'TCP')}`)).join(',');
}

export function selectorText(sel: unknown): string {
  if (!isObject(sel) || Object.keys(sel).length === 0) return '<none>';
  return Object.keys(sel).sort().map((k) => `${k}=${String(sel[k])}`).join(',');
}

export const services: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Service',
  plural: 'services',
  singular: 'service',
  shortNames: ['svc'],
  categories: ['all'],
  namespaced: true,
  nameRule: 'dns1035',
  hasStatus: true,
  subresources: [
    { name: 'proxy', kind: { group: '', version: 'v1', kind: 'ServiceProxyOptions' }, verbs: ['create', 'delete', 'get', 'patch', 'update'] },
    statusSubresource({ group: '', version: 'v1', kind: 'Service' }),
  ],
  topLevelFields: ['spec', 'status'],
  defaults(o) {
    const spec = obj(o.spec);
    spec.type ??= 'ClusterIP';
    if (spec.type !== 'ExternalName') {
      spec.sessionAffinity ??= 'None';
      spec.internalTrafficPolicy ??= 'Cluster';
      if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
      if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
      spec.ipFamilyPolicy ??= 'SingleStack';
      spec.ipFamilies ??= ['IPv4'];
    }
    for (const p of arr(spec.ports)) {
      if (!isObject(p)) continue;
      p.protocol ??= 'TCP';
      if (p.targetPort === undefined && p.port !== undefined) p.targetPort = p.port;
    }
    o.spec = spec;
  },
  prepareForCreate(o) {
    o.status = { loadBalancer: {} };
  },
  validate(o) {
    const errs: FieldError[] = [];
    const spec = obj(o.spec);
    const type = String(spec.type ?? 'ClusterIP');
    if (!TYPES.includes(type)) errs.push(fieldNotSupported('spec.type', type, TYPES));
    const ports = arr(spec.ports).map(obj);
    if (type !== 'ExternalName' && ports.length === 0 && spec.clusterIP !== 'None') errs.push(fieldRequired('spec.ports'));
    if (type === 'ExternalName' && !spec.externalName) errs.push(fieldRequired('spec.externalName'));
    const names = new Set<string>();
    ports.forEach((p, i) => {
      const path = `spec.ports[${i}]`;
      if (ports.length > 1 && !p.name) errs.push(fieldRequired(`${path}.name`));
      if (typeof p.name === 'string' && p.name !== '') {
        for (const m of isDNS1123Label(p.name)) errs.push(fieldInvalid(`${path}.name`, p.name, m));
        if (names.has(p.name)) errs.push(fieldDuplicate(`${path}.name`, p.name));
        names.add(p.name);
      }
      if (typeof p.port !== 'number' || p.port < 1 || p.port > 65535) errs.push(fieldInvalid(`${path}.port`, p.port ?? 0, 'must be between 1 and 65535, inclusive'));
      if (p.protocol !== undefined && !PROTOCOLS.includes(String(p.protocol))) errs.push(fieldNotSupported(`${path}.protocol`, p.protocol, PROTOCOLS));
      if (typeof p.targetPort === 'number' && (p.targetPort < 1 || p.targetPort > 65535)) {
        errs.push(fieldInvalid(`${path}.targetPort`, p.targetPort, 'must be between 1 and 65535, inclusive'));
      }
      if (p.nodePort !== undefined && type !== 'NodePort' && type !== 'LoadBalancer') {
        errs.push({ type: 'FieldValueForbidden', field: `${path}.nodePort`, detail: 'may not be used when `type` is \'ClusterIP\'' });
      }
    });
    return errs;
  },
  validateUpdate(o, old) {
    const a = obj(o.spec).clusterIP;
    const b = obj(old.spec).clusterIP;
    if (b && a !== undefined && a !== '' && a !== b) return [fieldInvalid('spec.clusterIPs[0]', a, 'may not change once set')];
    if (b && (a === undefined || a === '')) obj(o.spec).clusterIP = b;
    const ips = obj(old.spec).clusterIPs;
    if (ips && obj(o.spec).clusterIPs === undefined) obj(o.spec).clusterIPs = ips;
    return [];
  },
  table: {
    columns: [
      NAME_COLUMN,
      col('Type', 'string', 0, 'type determines how the Service is exposed.'),
      col('Cluster-IP', 'string', 0, 'clusterIP is the IP address of the service and is usually assigned randomly.'),
      col('External-IP', 'string', 0, 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
      col('Port(s)', 'string', 0, 'The list of ports that are exposed by this service.'),
      AGE_COLUMN,
      col('Selector', 'string', 1, 'Route service traffic to pods with label keys and values matching this selector.'),
    ],
    cells: (o, now) => {
      const spec = obj(o.spec);
      return [nameOf(o), String(spec.type ?? 'ClusterIP'), String(spec.clusterIP || '<none>'), externalIP(o), portsText(o), ageOf(o, now), selectorText(spec.selector)];
    },
  },
};
