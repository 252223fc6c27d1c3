import { AGE_COLUMN, ageOf, arr, col, NAME_COLUMN, nameOf, obj } from '../common.ts';
import type { KubeObject } from '../../../api/meta.ts';
import type { ResourceDef } from '../../types.ts';

/** kubectl's ENDPOINTS cell: up to three ip:port pairs, then "+ N more...". */
function endpointsText(o: KubeObject): string {
  const pairs: string[] = [];
  let count = 0;
  for (const s of arr(o.subsets).map(obj)) {
    const ports = arr(s.ports).map(obj);
    for (const a of arr(s.addresses).map(obj)) {
      if (ports.length === 0) {
        count++;
        if (pairs.length < 3) pairs.push(String(a.ip));
      }
      for (const p of ports) {
        count++;
        if (pairs.length < 3) pairs.push(`${String(a.ip)}:${String(p.port)}`);
      }
    }
  }
  if (count === 0) return '<none>';
  return count > 3 ? `${pairs.join(',')} + ${count - 3} more...` : pairs.join(',');
}

export const endpoints: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  plural: 'endpoints',
  singular: 'endpoints',
  shortNames: ['ep'],
  namespaced: true,
  allowCreateOnUpdate: true,
  topLevelFields: ['subsets'],
  table: {
    columns: [NAME_COLUMN, col('Endpoints', 'string', 0, 'Endpoints of the service'), AGE_COLUMN],
    cells: (o, now) => [nameOf(o), endpointsText(o), ageOf(o, now)],
  },
};
