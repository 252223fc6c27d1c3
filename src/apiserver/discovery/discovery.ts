// Discovery documents built from the registry: legacy (APIVersions, APIGroupList, APIGroup,
// APIResourceList) and aggregated (apidiscovery.k8s.io v2/v2beta1 APIGroupDiscoveryList).
// Documents are cached per registry generation; each carries an ETag for 304s.

import { createHash } from 'node:crypto';
import { ALL_VERBS, type Registry, type ResourceDef } from '../../registry/types.ts';
import { parseAccept } from '../encoding/negotiate.ts';

export interface DiscoveryDoc {
  body: string;
  /** Sent as bytes so fastify leaves the Content-Type exactly as given. */
  bodyBuffer: Buffer;
  etag: string;
  contentType: string;
}

const JSON_TYPE = 'application/json';

function doc(value: unknown, contentType = JSON_TYPE): DiscoveryDoc {
  const body = JSON.stringify(value);
  const etag = `"${createHash('sha512').update(body).digest('hex').slice(0, 64).toUpperCase()}"`;
  return { body, bodyBuffer: Buffer.from(body), etag, contentType };
}

const verbsOf = (def: ResourceDef) => [...(def.verbs ?? ALL_VERBS)].sort();
const gv = (group: string, version: string) => (group ? `${group}/${version}` : version);

function legacyResources(def: ResourceDef): Record<string, unknown>[] {
  const main: Record<string, unknown> = {
    name: def.plural,
    singularName: def.singular,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: verbsOf(def),
  };
  if (def.shortNames?.length) main.shortNames = [...def.shortNames];
  if (def.categories?.length) main.categories = [...def.categories];
  main.storageVersionHash = createHash('sha256').update(`${def.storage?.group ?? def.group}/${def.storage?.plural ?? def.plural}`).digest('base64').slice(0, 11);
  const out = [main];
  for (const s of def.subresources ?? []) {
    const e: Record<string, unknown> = { name: `${def.plural}/${s.name}`, singularName: '', namespaced: def.namespaced };
    if (s.kind.group !== def.group || s.kind.version !== def.version) {
      e.group = s.kind.group;
      e.version = s.kind.version;
    }
    e.kind = s.kind.kind;
    e.verbs = [...s.verbs];
    out.push(e);
  }
  return out;
}

function aggregatedResource(def: ResourceDef): Record<string, unknown> {
  const r: Record<string, unknown> = {
    resource: def.plural,
    responseKind: { group: def.group, version: def.version, kind: def.kind },
    scope: def.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: def.singular,
    verbs: verbsOf(def),
  };
  if (def.shortNames?.length) r.shortNames = [...def.shortNames];
  if (def.categories?.length) r.categories = [...def.categories];
  if (def.subresources?.length) {
    r.subresources = def.subresources.map((s) => ({ subresource: s.name, responseKind: { ...s.kind }, verbs: [...s.verbs] }));
  }
  return r;
}

export class Discovery {
  private cacheGen = -1;
  private cache = new Map<string, DiscoveryDoc>();

  constructor(
    private readonly registry: Registry,
    private readonly serverAddress: () => string = () => '127.0.0.1:6443',
  ) {}

  private cached(key: string, build: () => DiscoveryDoc): DiscoveryDoc {
    if (this.cacheGen !== this.registry.generation) {
      this.cache.clear();
      this.cacheGen = this.registry.generation;
    }
    let d = this.cache.get(key);
    if (!d) {
      d = build();
      this.cache.set(key, d);
    }
    return d;
  }

  private groups(): string[] {
    const seen: string[] = [];
    for (const { group } of this.registry.groupVersions()) if (!seen.includes(group)) seen.push(group);
    return seen;
  }

  private versions(group: string): string[] {
    return this.registry.groupVersions().filter((x) => x.group === group).map((x) => x.version);
  }

  apiVersions(): DiscoveryDoc {
    return this.cached('api', () =>
      doc({
        kind: 'APIVersions',
        versions: this.versions(''),
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: this.serverAddress() }],
      }),
    );
  }

  private groupEntry(group: string) {
    const versions = this.versions(group).map((v) => ({ groupVersion: gv(group, v), version: v }));
    return { name: group, versions, preferredVersion: versions[0] };
  }

  apiGroupList(): DiscoveryDoc {
    return this.cached('apis', () =>
      doc({ kind: 'APIGroupList', apiVersion: 'v1', groups: this.groups().filter((g) => g !== '').map((g) => this.groupEntry(g)) }),
    );
  }

  apiGroup(group: string): DiscoveryDoc | undefined {
    if (!group || this.versions(group).length === 0) return undefined;
    return this.cached(`group:${group}`, () => doc({ kind: 'APIGroup', apiVersion: 'v1', ...this.groupEntry(group) }));
  }

  resourceList(group: string, version: string): DiscoveryDoc | undefined {
    const defs = this.registry.resources(group, version);
    if (defs.length === 0) return undefined;
    return this.cached(`rl:${group}/${version}`, () =>
      doc({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv(group, version), resources: defs.flatMap(legacyResources) }),
    );
  }

  /** `which`: 'core' for /api, 'groups' for /apis. */
  aggregated(which: 'core' | 'groups', version: 'v2' | 'v2beta1'): DiscoveryDoc {
    return this.cached(`agg:${which}:${version}`, () => {
      const groups = which === 'core' ? [''] : this.groups().filter((g) => g !== '');
      const items = groups.map((g) => ({
        metadata: g ? { name: g } : {},
        versions: this.versions(g).map((v) => ({
          version: v,
          resources: this.registry.resources(g, v).map(aggregatedResource),
          freshness: 'Current',
        })),
      }));
      return doc(
        { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items },
        `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`,
      );
    });
  }
}

/** The aggregated version a client asked for, in its order of preference, or undefined for legacy. */
export function wantsAggregated(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  for (const r of parseAccept(accept)) {
    if (r.type !== 'application/json') continue;
    if (r.params.g === 'apidiscovery.k8s.io' && r.params.as === 'APIGroupDiscoveryList' && (r.params.v === 'v2' || r.params.v === 'v2beta1')) return r.params.v;
    if (r.params.as === undefined) return undefined;
  }
  return undefined;
}
