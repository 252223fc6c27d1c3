// Kubeconfig files: build ours, and merge it into / remove it from the user's without disturbing
// anything else in there. Edits go through yaml's Document API, so untouched entries keep their
// order, quoting and comments.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML, { isMap, isSeq, type Document } from 'yaml';
import { writeFileAtomic } from '../util/fs.ts';

export interface KubeconfigCluster {
  server: string;
  'certificate-authority-data'?: string;
  [field: string]: unknown;
}

export interface KubeconfigUser {
  'client-certificate-data'?: string;
  'client-key-data'?: string;
  [field: string]: unknown;
}

export interface KubeconfigContext {
  cluster: string;
  user: string;
  namespace?: string;
  [field: string]: unknown;
}

export interface Kubeconfig {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: { name: string; cluster: KubeconfigCluster }[];
  users: { name: string; user: KubeconfigUser }[];
  contexts: { name: string; context: KubeconfigContext }[];
  'current-context': string;
  preferences: Record<string, unknown>;
}

export interface BuildKubeconfigOptions {
  /** Used for the cluster, the user and the context alike, e.g. `nanokube-<cluster>`. */
  name: string;
  server: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  namespace?: string;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** A self-contained kubeconfig (credentials embedded as base64 data) whose current context is `name`. */
export function buildKubeconfig(opts: BuildKubeconfigOptions): Kubeconfig {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: opts.name, cluster: { server: opts.server, 'certificate-authority-data': b64(opts.caPem) } }],
    users: [{ name: opts.name, user: { 'client-certificate-data': b64(opts.clientCertPem), 'client-key-data': b64(opts.clientKeyPem) } }],
    contexts: [
      { name: opts.name, context: { cluster: opts.name, user: opts.name, ...(opts.namespace ? { namespace: opts.namespace } : {}) } },
    ],
    'current-context': opts.name,
    preferences: {},
  };
}

/** Writes `kc` as YAML, mode 0600 (it holds a private key), atomically. */
export function writeKubeconfig(file: string, kc: Kubeconfig): void {
  writeFileAtomic(file, YAML.stringify(kc), 0o600);
}

/** Reads a kubeconfig file as a plain object; errors name the file. */
export function readKubeconfigFile(file: string): Kubeconfig {
  const doc = loadDocument(file, fs.readFileSync(file, 'utf8'));
  const kc = (doc.toJS() ?? {}) as Partial<Kubeconfig>;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: kc.clusters ?? [],
    users: kc.users ?? [],
    contexts: kc.contexts ?? [],
    'current-context': kc['current-context'] ?? '',
    preferences: kc.preferences ?? {},
  };
}

const SECTIONS = ['clusters', 'users', 'contexts'] as const;

/**
 * Adds or replaces the clusters, users and contexts of `kc` in `file` (matched by name) and leaves every
 * other entry as it was. Creates the file and its directory when missing. Refuses to touch a file it
 * cannot parse, so a hand-edited config with a typo is never clobbered.
 */
export function mergeIntoKubeconfig(file: string, kc: Kubeconfig, opts: { makeCurrent: boolean }): void {
  const target = resolveTarget(file);
  const existing = readIfExists(target);
  const doc = existing === undefined ? new YAML.Document({ apiVersion: 'v1', kind: 'Config' }) : loadDocument(target, existing);
  if (!doc.contents) doc.contents = doc.createNode({ apiVersion: 'v1', kind: 'Config' });
  for (const section of SECTIONS) {
    for (const entry of kc[section]) upsertNamed(doc, section, entry.name, entry);
  }
  if (opts.makeCurrent) doc.set('current-context', kc['current-context'] || kc.contexts[0]?.name || '');
  else if (!doc.has('current-context')) doc.set('current-context', '');
  writeFileAtomic(target, doc.toString(), existing === undefined ? 0o600 : fs.statSync(target).mode & 0o777);
}

/**
 * Removes the cluster, user and context called `name`. When current-context pointed at it, it becomes ""
 * — what `kubectl config unset current-context` writes. (`kubectl config delete-context` alone leaves a
 * dangling current-context and only warns; we tidy up because we created the entry.)
 * A missing file is left missing; returns whether anything was removed.
 */
export function removeFromKubeconfig(file: string, name: string): boolean {
  const target = resolveTarget(file);
  const existing = readIfExists(target);
  if (existing === undefined) return false;
  const doc = loadDocument(target, existing);
  let removed = false;
  for (const section of SECTIONS) {
    const seq = doc.get(section);
    if (!isSeq(seq)) continue;
    const before = seq.items.length;
    seq.items = seq.items.filter((item) => !(isMap(item) && item.get('name') === name));
    removed ||= seq.items.length !== before;
  }
  if (doc.get('current-context') === name) {
    doc.set('current-context', '');
    removed = true;
  }
  if (removed) writeFileAtomic(target, doc.toString(), fs.statSync(target).mode & 0o777);
  return removed;
}

/**
 * The file kubectl would write a *new* entry to (client-go clientcmd PathOptions.GetDefaultFilename,
 * checked against kubectl 1.35):
 * - $KUBECONFIG unset or empty: ~/.kube/config;
 * - $KUBECONFIG names one file: that file, existing or not;
 * - several files: the first of them that exists, else the LAST one listed.
 * An entry that already exists is modified in the file that defines it: see kubeconfigFileFor().
 */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const files = kubeconfigEnvFiles(env);
  if (files.length === 0) return path.join(env.HOME || os.homedir(), '.kube', 'config');
  if (files.length === 1) return files[0]!;
  return files.find((f) => fs.existsSync(f)) ?? files[files.length - 1]!;
}

/**
 * The file kubectl would modify for our entries called `name`: the first file in $KUBECONFIG order that
 * already defines a cluster, user or context of that name (clientcmd writes a changed stanza back to its
 * LocationOfOrigin, and when files are merged the first definition wins), else defaultKubeconfigPath().
 * Files that cannot be parsed are skipped here; merging into one will still refuse with a clear error.
 */
export function kubeconfigFileFor(name: string, env: NodeJS.ProcessEnv = process.env): string {
  for (const file of kubeconfigEnvFiles(env)) {
    const text = readIfExists(file);
    if (text === undefined) continue;
    let doc: Document;
    try {
      doc = loadDocument(file, text);
    } catch {
      continue;
    }
    const defines = SECTIONS.some((section) => {
      const seq = doc.get(section);
      return isSeq(seq) && seq.items.some((item) => isMap(item) && item.get('name') === name);
    });
    if (defines) return file;
  }
  return defaultKubeconfigPath(env);
}

/** $KUBECONFIG split on the platform list separator, empty parts dropped, duplicates removed (as clientcmd does). */
function kubeconfigEnvFiles(env: NodeJS.ProcessEnv): string[] {
  return [...new Set((env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f.length > 0))];
}

function upsertNamed(doc: Document, section: (typeof SECTIONS)[number], name: string, entry: object): void {
  let seq = doc.get(section);
  if (!isSeq(seq)) {
    // Absent or `null` (kubectl writes `users: null` for an empty list).
    seq = doc.createNode([]);
    doc.set(section, seq);
  }
  if (!isSeq(seq)) throw new Error(`internal: ${section} is not a sequence`);
  const node = doc.createNode(entry);
  const index = seq.items.findIndex((item) => isMap(item) && item.get('name') === name);
  if (index < 0) {
    seq.items.push(node);
    return;
  }
  // Replace in place (keeps the user's ordering) and drop later duplicates, which kubectl would ignore anyway.
  seq.items[index] = node;
  seq.items = seq.items.filter((item, i) => i <= index || !(isMap(item) && item.get('name') === name));
}

function loadDocument(file: string, text: string): Document {
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new Error(`cannot parse kubeconfig ${file}: ${doc.errors[0]!.message}; fix or move the file and retry`);
  }
  const contents = doc.contents;
  if (contents !== null && !isMap(contents)) {
    throw new Error(`cannot use kubeconfig ${file}: expected a mapping at the top level; fix or move the file and retry`);
  }
  if (isMap(contents)) {
    for (const section of SECTIONS) {
      const value = contents.get(section);
      if (value !== undefined && value !== null && !isSeq(value)) {
        throw new Error(`cannot use kubeconfig ${file}: "${section}" must be a list; fix or move the file and retry`);
      }
    }
  }
  return doc;
}

/** Follows a symlinked kubeconfig (dotfile managers) so the atomic rename replaces the real file, not the link. */
function resolveTarget(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
