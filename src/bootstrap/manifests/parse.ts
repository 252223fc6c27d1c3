// Reading the manifests folder: which files count (k3s' rules: .yaml/.yml/.json, no dotfiles, a
// sibling `<file>.skip` turns a file off) and splitting a file into Kubernetes objects, each tagged
// with its document index so errors can point at it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { KubeObject } from '../../client/types.ts';

/** Objects carrying this annotation leave the cluster when their file (or their document) goes. */
export const DELETE_WITH_FILE_ANNOTATION = 'nanokube.io/delete-with-file';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
/** Bounds on the walk, so a mistaken symlink to / cannot make a rescan unbounded. */
const MAX_DEPTH = 8;
const MAX_FILES = 5000;

export interface ManifestFile {
  /** Path relative to the manifests dir, with '/' separators: the key in the checksum state. */
  rel: string;
  abs: string;
}

/** Every manifest file under `dir`, sorted by relative path (the order they are applied in). */
export function listManifestFiles(dir: string): ManifestFile[] {
  const out: ManifestFile[] = [];
  const walk = (abs: string, rel: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const names = new Set(entries.map((e) => e.name));
    for (const entry of entries) {
      if (out.length >= MAX_FILES) return;
      if (entry.name.startsWith('.')) continue;
      const childAbs = path.join(abs, entry.name);
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const st = fs.statSync(childAbs);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue; // dangling link
        }
      }
      if (isDir) {
        if (depth < MAX_DEPTH) walk(childAbs, childRel, depth + 1);
        continue;
      }
      if (!isFile || !MANIFEST_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) continue;
      if (names.has(`${entry.name}.skip`)) continue;
      out.push({ rel: childRel, abs: childAbs });
    }
  };
  walk(dir, '', 0);
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

export function checksumOf(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

export interface ManifestDocument {
  /** 0-based index of the YAML document in its file. */
  index: number;
  object?: KubeObject;
  /** Why this document cannot be applied (bad YAML, no kind...). */
  error?: string;
}

/**
 * Splits a (multi-document) YAML or JSON file into objects. Empty documents are skipped but still
 * count for the index; `kind: List` documents are expanded into their items.
 */
export function parseManifest(text: string): ManifestDocument[] {
  const out: ManifestDocument[] = [];
  const docs = YAML.parseAllDocuments(text);
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      out.push({ index, error: `invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}` });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      out.push({ index, error: `invalid YAML: ${(e as Error).message}` });
      return;
    }
    if (value === null || value === undefined) return;
    const items = isList(value) ? (value.items as unknown[]) : [value];
    for (const item of items) {
      const problem = checkObject(item);
      if (problem) out.push({ index, error: problem });
      else out.push({ index, object: item as KubeObject });
    }
  });
  return out;
}

function isList(value: unknown): value is { kind: string; items: unknown[] } {
  const v = value as { kind?: unknown; items?: unknown };
  return typeof v === 'object' && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items);
}

function checkObject(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object (expected a Kubernetes object with apiVersion, kind and metadata)';
  const o = value as Record<string, unknown>;
  if (typeof o.apiVersion !== 'string' || !o.apiVersion) return 'apiVersion is missing';
  if (typeof o.kind !== 'string' || !o.kind) return 'kind is missing';
  const meta = o.metadata as Record<string, unknown> | undefined;
  // Server-side apply addresses an object by name, so generateName cannot work here.
  if (typeof meta !== 'object' || meta === null || typeof meta.name !== 'string' || !meta.name) return `${o.kind}: metadata.name is missing`;
  return undefined;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}
