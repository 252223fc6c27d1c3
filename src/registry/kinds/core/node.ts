import { AGE_COLUMN, ageOf, arr, col, field, NAME_COLUMN, nameOf, obj, statusSubresource } from '../common.ts';
import type { KubeObject } from '../../../api/meta.ts';
import type { ResourceDef } from '../../types.ts';

function nodeStatus(o: KubeObject): string {
  const conds = arr(obj(o.status).conditions).map(obj);
  const ready = conds.find((c) => c.type === 'Ready');
  const parts: string[] = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (obj(o.spec).unschedulable === true) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function roles(o: KubeObject): string {
  const labels = o.metadata?.labels ?? {};
  const out = new Set<string>();
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const r = k.slice('node-role.kubernetes.io/'.length);
      if (r) out.add(r);
    } else if (k === 'kubernetes.io/role' && v) out.add(v);
  }
  return out.size ? [...out].sort().join(',') : '<none>';
}

const address = (o: KubeObject, type: string) => String(arr(obj(o.status).addresses).map(obj).find((a) => a.type === type)?.address ?? '<none>');

export const nodes: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  shortNames: ['no'],
  namespaced: false,
  hasStatus: true,
  subresources: [
    { name: 'proxy', kind: { group: '', version: 'v1', kind: 'NodeProxyOptions' }, verbs: ['create', 'delete', 'get', 'patch', 'update'] },
    statusSubresource({ group: '', version: 'v1', kind: 'Node' }),
  ],
  topLevelFields: ['spec', 'status'],
  // Nodes register with their status (the kubelet creates them whole), so create keeps it.
  prepareForCreate() {},
  fieldSelectors: { 'spec.unschedulable': (o) => String(obj(o.spec).unschedulable === true) },
  table: {
    columns: [
      NAME_COLUMN,
      col('Status', 'string', 0, 'The status of the node'),
      col('Roles', 'string', 0, 'The roles of the node'),
      AGE_COLUMN,
      col('Version', 'string', 0, 'Kubelet Version reported by the node.'),
      col('Internal-IP', 'string', 1, 'List of addresses reachable to the node. Queried from cloud provider, if available.'),
      col('External-IP', 'string', 1, 'List of addresses reachable to the node. Queried from cloud provider, if available.'),
      col('OS-Image', 'string', 1, 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).'),
      col('Kernel-Version', 'string', 1, 'Kernel Version reported by the node from \'uname -r\' (e.g. 3.16.0-0.bpo.4-amd64).'),
      col('Container-Runtime', 'string', 1, 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).'),
    ],
    cells: (o, now) => {
      const info = obj(obj(o.status).nodeInfo);
      const s = (v: unknown) => String(v || '<unknown>');
      return [nameOf(o), nodeStatus(o), roles(o), ageOf(o, now), String(info.kubeletVersion ?? ''), address(o, 'InternalIP'), address(o, 'ExternalIP'), s(info.osImage), s(info.kernelVersion), s(info.containerRuntimeVersion)];
    },
  },
};
export const nodeField = field;
