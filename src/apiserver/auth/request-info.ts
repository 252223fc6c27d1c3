// HTTP method + URL -> authorization attributes, resolved the way kube-apiserver's RequestInfo
// resolver does, so RBAC rules written for a real cluster mean the same thing here.
//
//   /api/v1/namespaces/ns/pods/p/log         get   pods/log  ns  p
//   /apis/apps/v1/deployments                list  (watch with ?watch=true)
//   /api/v1/namespaces/ns                    get   namespaces ns (namespace = its own name, as upstream)
//   /api/v1/watch/namespaces/ns/pods         watch (legacy watch prefix)
//   DELETE on a collection                   deletecollection
//   /version, /healthz, /api, /apis/apps/v1  non-resource: verb = lower-case method
import type { UserInfo } from './user.ts';
import type { RequestAttributes } from './rbac.ts';

const API_PREFIXES = new Set(['api', 'apis']);
/** Verbs that appear as a path segment before the resource (`/api/v1/watch/...`, `/api/v1/proxy/...`). */
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
/** Parts after `namespaces/<ns>` that are subresources of the namespace rather than resources in it. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

const METHOD_VERBS: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

function parseBool(v: string | null): boolean {
  return v !== null && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v);
}

/** The name a fieldSelector pins (`metadata.name=x` or `==`), as upstream uses it for list/watch. */
function nameFromFieldSelector(selector: string | null): string {
  if (!selector) return '';
  let found = '';
  for (const term of selector.split(',')) {
    const m = /^\s*metadata\.name\s*(==|=)\s*(.*?)\s*$/.exec(term);
    if (m) found = m[2] ?? '';
  }
  // Upstream only takes names that are valid path segments.
  if (found === '.' || found === '..' || found.includes('/') || found.includes('%')) return '';
  return found;
}

function safeDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function requestAttributes(method: string, url: string, user: UserInfo): RequestAttributes {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const path = safeDecode(rawPath);
  const nonResource: RequestAttributes = {
    user, verb: method.toLowerCase(), isResourceRequest: false, apiGroup: '', resource: '', subresource: '', namespace: '', name: '', path,
  };

  let parts = rawPath.split('/').filter((p) => p !== '').map(safeDecode);
  if (parts.length < 3 || !API_PREFIXES.has(parts[0] ?? '')) return nonResource;
  const prefix = parts[0];
  parts = parts.slice(1);
  let apiGroup = '';
  if (prefix === 'apis') {
    // /apis/<group>/<version> alone is discovery, not a resource.
    if (parts.length < 3) return nonResource;
    apiGroup = parts[0] ?? '';
    parts = parts.slice(1);
  }
  const apiVersion = parts[0] ?? '';
  parts = parts.slice(1);

  let verb: string;
  if (SPECIAL_VERBS.has(parts[0] ?? '')) {
    if (parts.length < 2) return nonResource; // upstream errors: no kind after the verb
    verb = parts[0] ?? '';
    parts = parts.slice(1);
  } else {
    verb = METHOD_VERBS[method.toUpperCase()] ?? '';
  }

  let namespace = '';
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      namespace = parts[1] ?? '';
      // namespaces/<ns>/<resource>/... : the rest names a resource in the namespace;
      // namespaces/<ns>, namespaces/<ns>/status|finalize: the namespace object itself.
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] ?? '')) parts = parts.slice(2);
    }
  }

  const resource = parts[0] ?? '';
  let name = parts[1] ?? '';
  // `proxy` keeps everything after the name as the proxied path, not a subresource.
  const subresource = parts.length >= 3 && verb !== 'proxy' ? (parts[2] ?? '') : '';

  if (!name && verb === 'get') {
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    verb = parseBool(query.get('watch')) ? 'watch' : 'list';
    name = nameFromFieldSelector(query.get('fieldSelector'));
  }
  if (!name && verb === 'delete') verb = 'deletecollection';

  return { user, verb, isResourceRequest: true, apiGroup, apiVersion, resource, subresource, namespace, name, path };
}
