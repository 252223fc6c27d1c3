// What the API server knows about one kind: naming, scope, subresources, and the hooks the
// generic REST handlers call. Adding a kind means writing one ResourceDef and listing it.

import type { FieldError } from '../api/status.ts';
import type { FieldGetter } from '../api/fields.ts';
import type { KubeObject } from '../api/meta.ts';
import type { NameRule } from '../api/validation.ts';
import type { UserInfo } from '../apiserver/auth/user.ts';
import type { SchemaNode } from '../apiserver/apply/schema-oracle.ts';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

export const ALL_VERBS: readonly Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export interface SubresourceDef {
  name: string;
  /** The kind a client sends/receives on this subresource (discovery's responseKind). */
  kind: GroupVersionKind;
  verbs: readonly string[];
}

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description?: string;
  /** 0 = always shown; 1 = only with `-o wide`. */
  priority?: number;
}

export interface TablePrinter {
  columns: readonly TableColumn[];
  /** One cell per column; `now` in ms makes Age cells deterministic in tests. */
  cells(obj: KubeObject, now: number): unknown[];
}

export interface RequestContext {
  user: UserInfo;
  /** The current (stored) object on update/delete; undefined on create. */
  now: number;
}

/** Read access for admission: every stored object of a cluster-scoped kind. */
export interface StoredObjects {
  list(group: string, plural: string): Promise<KubeObject[]>;
}

export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural, the URL segment. */
  plural: string;
  singular: string;
  shortNames?: readonly string[];
  categories?: readonly string[];
  namespaced: boolean;
  /** Defaults to all eight verbs. */
  verbs?: readonly Verb[];
  subresources?: readonly SubresourceDef[];
  /** Name validation rule for metadata.name (default subdomain). */
  nameRule?: NameRule;
  /**
   * Storage location when several API versions/groups serve one set of objects (events.k8s.io →
   * core events, autoscaling/v1 → v2). The other def's fromStorage/toStorage convert.
   */
  storage?: { group: string; plural: string };
  /** Convert from the stored form (another GVK) to this def's form. */
  fromStorage?(stored: KubeObject): KubeObject;
  /** Convert this def's form to the stored form. */
  toStorage?(obj: KubeObject): KubeObject;
  /** Track metadata.generation (1 on create, +1 when anything but metadata/status changes). */
  generation?: boolean;
  /** The object has a `status` owned by the status subresource. */
  hasStatus?: boolean;
  /** Top-level fields besides apiVersion/kind/metadata; used by fieldValidation until schemas land. */
  topLevelFields?: readonly string[];
  /** Known fields under spec (only first level checked). */
  specFields?: readonly string[];
  /** Fill in defaults (on create and update, after decoding). */
  defaults?(obj: KubeObject): void;
  /** Validation on create; FieldErrors become a 422. ObjectMeta is validated generically first. */
  validate?(obj: KubeObject): FieldError[];
  /** Validation on update (immutable fields, etc.), in addition to validate(). */
  validateUpdate?(obj: KubeObject, old: KubeObject): FieldError[];
  /** Strategy: adjust a new object before validation (clear status, set initial fields). */
  prepareForCreate?(obj: KubeObject, ctx: RequestContext): void;
  /** Strategy: adjust an updated object before validation. */
  prepareForUpdate?(obj: KubeObject, old: KubeObject, ctx: RequestContext): void;
  /**
   * Admission that reads other stored objects (DefaultStorageClass, PVC resize): on create (old
   * undefined) and spec updates, after defaults, before validation. May change obj or throw an ApiError.
   */
  admit?(obj: KubeObject, old: KubeObject | undefined, stored: StoredObjects): void | Promise<void>;
  /**
   * Strategy for DELETE: the grace period this kind wants for this object (pods: terminationGrace
   * for scheduled pods). Returning > 0 makes the delete graceful (deletionTimestamp set, object kept).
   */
  gracePeriod?(obj: KubeObject, requested: number | undefined): number;
  /** Objects expire this many seconds after their last write (Events: 1 h, like upstream's --event-ttl). */
  ttlSeconds?: number;
  /** PUT on a missing object creates it (upstream's AllowCreateOnUpdate: events, endpoints, leases, RBAC...). */
  allowCreateOnUpdate?: boolean;
  /** Reply to DELETE with the object (true) or a Success Status (false). */
  returnDeletedObject?: boolean;
  /** Field selectors beyond metadata.name/metadata.namespace. */
  fieldSelectors?: Readonly<Record<string, FieldGetter>>;
  table?: TablePrinter;
  /**
   * Virtual, create-only kinds (reviews): compute the reply instead of storing. Receives the
   * decoded, defaulted object and returns the object to send with 201.
   */
  virtualCreate?(obj: KubeObject, ctx: RequestContext): KubeObject | Promise<KubeObject>;
  /**
   * Set for kinds served from a CustomResourceDefinition: no strategic merge patch, schema-driven
   * pruning/validation/defaulting, and the CRD that defines them.
   */
  custom?: { crdName: string };
  /** The schema patch engines, SSA and fieldValidation consult (built-ins: the embedded OpenAPI). */
  schema?(): SchemaNode | undefined;
  /**
   * Unknown-field paths of a decoded object (schema-driven). When present it replaces the
   * topLevelFields/specFields check.
   */
  unknownFields?(obj: KubeObject): string[];
  /** Scale subresource: where replicas and the selector live. */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface Registry {
  /** Group/versions served, in discovery order (core first, preferred version first within a group). */
  groupVersions(): { group: string; version: string }[];
  /** Resources of one group/version, in registration order. */
  resources(group: string, version: string): readonly ResourceDef[];
  byResource(group: string, version: string, resource: string): ResourceDef | undefined;
  byKind(group: string, version: string, kind: string): ResourceDef | undefined;
  /** Resolve a user-typed name (plural, singular, short name) across groups; first match wins. */
  lookup(name: string): ResourceDef[];
  /** Preferred version of a group, or undefined if the group is unknown. */
  preferredVersion(group: string): string | undefined;
  add(def: ResourceDef): void;
  remove(group: string, version: string, plural: string): void;
  /** Increments on every add/remove; discovery caches key on it. */
  readonly generation: number;
}
