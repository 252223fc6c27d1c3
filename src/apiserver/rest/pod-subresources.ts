// pods/binding (the scheduler's write) and pods/eviction (drain). Eviction does not consult
// PodDisruptionBudgets yet: it deletes like a plain DELETE with the given options.

import { isObject, metaOf, rfc3339 } from '../../api/meta.ts';
import { toStored } from './objects.ts';
import { badRequest, conflict, methodNotAllowed, type Status } from '../../api/status.ts';
import type { SubresourceHandler } from '../api.ts';
import { objectKey } from './keys.ts';

const created: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };

const binding: SubresourceHandler = async ({ req, method, rest }) => {
  if (method !== 'POST') throw methodNotAllowed(method.toLowerCase(), 'pods/binding');
  const body = req.body;
  if (!isObject(body) || !isObject(body.target) || typeof body.target.name !== 'string' || body.target.name === '') {
    throw badRequest('the object provided is unrecognized (must be of type Binding): target.name is required');
  }
  const node = body.target.name;
  const name = req.name!;
  for (let attempt = 0; attempt < 5; attempt++) {
    const { kv, obj } = await rest.current(req.def, req.namespace, name);
    const spec = isObject(obj.spec) ? obj.spec : {};
    if (typeof spec.nodeName === 'string' && spec.nodeName !== '') {
      throw conflict({ group: '', resource: 'pods/binding' }, name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
    }
    if (obj.metadata?.deletionTimestamp) throw conflict({ group: '', resource: 'pods/binding' }, name, `pod ${name} is being deleted, cannot be assigned to a host`);
    spec.nodeName = node;
    obj.spec = spec;
    const status = isObject(obj.status) ? obj.status : {};
    const conds = (Array.isArray(status.conditions) ? status.conditions : []).filter((c) => !(isObject(c) && c.type === 'PodScheduled'));
    conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339() });
    status.conditions = conds;
    obj.status = status;
    const meta = metaOf(obj);
    delete meta.resourceVersion;
    try {
      await rest.store.update(objectKey(req.def, req.namespace, name), toStored(req.def, obj), kv.modRevision);
      return { code: 201, body: created, warnings: [] };
    } catch (e) {
      if ((e as Error).name === 'ConflictError') continue;
      throw e;
    }
  }
  throw conflict({ group: '', resource: 'pods/binding' }, name, 'the object has been modified; please apply your changes to the latest version and try again');
};

const eviction: SubresourceHandler = async ({ req, method, rest }) => {
  if (method !== 'POST') throw methodNotAllowed(method.toLowerCase(), 'pods/eviction');
  const body = isObject(req.body) ? req.body : {};
  await rest.delete({ ...req, subresource: undefined, body: isObject(body.deleteOptions) ? body.deleteOptions : {}, query: {} } as typeof req);
  return { code: 201, body: created, warnings: [] };
};

export function podSubresources(): [string, SubresourceHandler][] {
  return [
    ['/pods/binding', binding],
    ['/pods/eviction', eviction],
  ];
}
