// Auto-deployed manifests: every YAML/JSON file under <data>/manifests/ is applied with server-side
// apply at start and whenever it changes, as k3s does with its server/manifests folder. Files are
// tracked by checksum in the data dir, so unchanged files cost nothing on restart. Removing a file
// (or a document from it) deletes nothing, as in k3s, except objects that opted in with the
// annotation nanokube.io/delete-with-file: "true".
import fs from 'node:fs';
import path from 'node:path';
import { isNotFound, type Client, type KubeObject, type ResourceRef } from '../client/types.ts';
import type { Registry } from '../registry/index.ts';
import type { Component } from '../server/components.ts';
import { logger } from '../util/log.ts';
import { DELETE_WITH_FILE_ANNOTATION, checksumOf, listManifestFiles, parseManifest, splitApiVersion } from './manifests/parse.ts';
import { objectKey, readState, writeState, type AppliedFile, type AppliedObject, type ManifestState } from './manifests/state.ts';

const log = logger('manifests');

export const MANIFESTS_FIELD_MANAGER = 'nanokube-manifests';
/** k3s rescans its manifests every 15 s; the same period is our fallback when fs.watch misses something. */
export const RESCAN_INTERVAL_MS = 15_000;
/** Editors save in several steps (truncate, write, rename): wait for the burst to end. */
const DEBOUNCE_MS = 150;
const FIRST_RETRY_MS = 1000;

export function manifestsDir(dataDir: string): string {
  return path.join(dataDir, 'manifests');
}

/** Beside, not inside, the manifests folder: a .json file there would be read as a manifest. */
export function manifestsStateFile(dataDir: string): string {
  return path.join(dataDir, 'manifests.state.json');
}

export interface ManifestSyncOptions {
  dir: string;
  stateFile: string;
  client: Client;
  registry: Registry;
  signal: AbortSignal;
  rescanMs?: number;
  debounceMs?: number;
}

export interface PassResult {
  applied: number;
  unchanged: number;
  failed: number;
  deleted: number;
}

class DocumentError extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
  }
}

export class ManifestSync {
  private state: ManifestState;
  /** Last error logged per "<file>#<doc>", so a periodic retry does not repeat the same line. */
  private readonly reported = new Map<string, string>();
  private watcher: fs.FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private dirty = false;
  private retryMs = 0;
  private loop: Promise<void> | undefined;
  /** Set by stop(): the server stops components before it aborts their shared signal. */
  private stopping = false;

  constructor(private readonly opts: ManifestSyncOptions) {
    this.state = readState(opts.stateFile);
  }

  /** Starts watching and rescanning until the signal aborts; call after the first pass(). */
  run(): void {
    this.loop ??= this.runLoop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.debounce);
    this.wake?.();
    await this.loop;
  }

  private async runLoop(): Promise<void> {
    // No abort listener: the server always calls stop() first, and the shared signal already has
    // as many listeners as Node warns about. An abort alone ends the loop at its next wake-up.
    const { signal } = this.opts;
    try {
      while (!signal.aborted && !this.stopping) {
        this.ensureWatch();
        const delay = this.retryMs > 0 ? this.retryMs : (this.opts.rescanMs ?? RESCAN_INTERVAL_MS);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.dirty = true;
            resolve();
          }, delay);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
          if (this.dirty || signal.aborted || this.stopping) this.wake();
        });
        this.wake = undefined;
        if (signal.aborted || this.stopping) break;
        if (!this.dirty) continue;
        this.dirty = false;
        try {
          await this.pass();
        } catch (e) {
          // A pass fails as a whole only when the folder cannot be read; try again later.
          log.error('manifests pass failed', { dir: this.opts.dir, error: e });
          this.retryMs = nextRetry(this.retryMs, this.opts.rescanMs ?? RESCAN_INTERVAL_MS);
        }
      }
    } finally {
      this.watcher?.close();
      this.watcher = undefined;
      clearTimeout(this.debounce);
    }
  }

  /** Watches the top folder; subfolders and a re-created folder are covered by the periodic rescan. */
  private ensureWatch(): void {
    if (this.watcher) return;
    try {
      const w = fs.watch(this.opts.dir, { persistent: false }, () => this.changed());
      w.on('error', () => {
        w.close();
        if (this.watcher === w) this.watcher = undefined;
      });
      this.watcher = w;
    } catch {
      // The folder is gone; the next rescan tries again.
    }
  }

  private changed(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.dirty = true;
      this.wake?.();
    }, this.opts.debounceMs ?? DEBOUNCE_MS);
  }

  /** One reconciliation of the folder against what was applied. */
  async pass(): Promise<PassResult> {
    const result: PassResult = { applied: 0, unchanged: 0, failed: 0, deleted: 0 };
    let stateChanged = false;
    const present = new Set<string>();
    for (const file of listManifestFiles(this.opts.dir)) {
      if (this.opts.signal.aborted || this.stopping) break;
      present.add(file.rel);
      let content: Buffer;
      try {
        content = fs.readFileSync(file.abs);
      } catch (e) {
        // Deleted between the listing and the read: the next pass sees it gone.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.report(file.rel, -1, `cannot read: ${(e as Error).message}`);
        result.failed++;
        continue;
      }
      const checksum = checksumOf(content);
      const previous = this.state.files[file.rel];
      if (previous && previous.checksum === checksum) {
        result.unchanged++;
        continue;
      }
      const outcome = await this.applyFile(file.rel, content.toString('utf8'), previous);
      this.state.files[file.rel] = outcome.entry(checksum);
      stateChanged = true;
      if (outcome.ok) result.applied++;
      else result.failed++;
      result.deleted += outcome.deleted;
    }
    // Files that are gone: their opted-in objects go with them.
    for (const [rel, entry] of Object.entries(this.state.files)) {
      if (present.has(rel) || this.opts.signal.aborted || this.stopping) continue;
      const left = await this.deleteObjects(rel, entry.objects.filter((o) => o.deleteWithFile));
      result.deleted += entry.objects.filter((o) => o.deleteWithFile).length - left.length;
      if (left.length === 0) {
        delete this.state.files[rel];
        log.info('manifest removed', { file: rel });
      } else {
        this.state.files[rel] = { checksum: '', objects: left };
        result.failed++;
      }
      stateChanged = true;
    }
    if (stateChanged) writeState(this.opts.stateFile, this.state);
    this.retryMs = result.failed > 0 ? nextRetry(this.retryMs, this.opts.rescanMs ?? RESCAN_INTERVAL_MS) : 0;
    return result;
  }

  private async applyFile(
    rel: string,
    text: string,
    previous: AppliedFile | undefined,
  ): Promise<{ ok: boolean; deleted: number; entry(checksum: string): AppliedFile }> {
    const applied: AppliedObject[] = [];
    let errors = 0;
    for (const doc of parseManifest(text)) {
      if (this.opts.signal.aborted || this.stopping) return { ok: false, deleted: 0, entry: () => ({ checksum: '', objects: previous?.objects ?? [] }) };
      try {
        if (doc.error) throw new DocumentError(doc.index, doc.error);
        applied.push(await this.applyObject(doc.object!));
        this.clearReport(rel, doc.index);
      } catch (e) {
        errors++;
        this.report(rel, doc.index, (e as Error).message, doc.object);
      }
    }
    const keys = new Set(applied.map(objectKey));
    let deleted = 0;
    let keep: AppliedObject[] = [];
    if (errors === 0 && previous) {
      // Documents dropped from the file: only opted-in objects are deleted, the rest stay as they are.
      const dropped = previous.objects.filter((o) => !keys.has(objectKey(o)) && o.deleteWithFile);
      keep = await this.deleteObjects(rel, dropped);
      deleted = dropped.length - keep.length;
    } else if (previous) {
      // After a failure, remember every object we may have applied, so deleting the file later still finds them.
      keep = previous.objects.filter((o) => !keys.has(objectKey(o)));
    }
    if (errors === 0) log.info('manifest applied', { file: rel, objects: applied.length });
    const ok = errors === 0 && keep.every((o) => !o.deleteWithFile || keys.has(objectKey(o)));
    return {
      ok,
      deleted,
      // A failed file keeps no checksum, so the next change or rescan applies it again.
      entry: (checksum) => ({ checksum: ok ? checksum : '', objects: [...applied, ...keep] }),
    };
  }

  private refFor(apiVersion: string, kind: string): ResourceRef | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    const def = this.opts.registry.byKind(group, version, kind);
    return def ? { group, version, resource: def.plural, namespaced: def.namespaced } : undefined;
  }

  private async applyObject(object: KubeObject): Promise<AppliedObject> {
    const apiVersion = object.apiVersion!;
    const kind = object.kind!;
    const ref = this.refFor(apiVersion, kind);
    if (!ref) throw new Error(`the API does not serve kind ${kind} in ${apiVersion} (if it comes from a CRD, it is retried until the CRD is established)`);
    const body = structuredClone(object);
    let namespace: string | undefined;
    if (ref.namespaced) {
      namespace = body.metadata.namespace || 'default';
      body.metadata.namespace = namespace;
    } else {
      delete body.metadata.namespace;
    }
    const name = body.metadata.name!;
    await this.opts.client.patch(ref, name, 'apply', body, { fieldManager: MANIFESTS_FIELD_MANAGER, force: true, ...(namespace ? { namespace } : {}) });
    return {
      apiVersion,
      kind,
      name,
      ...(namespace ? { namespace } : {}),
      deleteWithFile: body.metadata.annotations?.[DELETE_WITH_FILE_ANNOTATION] === 'true',
    };
  }

  /** Deletes the objects; returns those that could not be deleted (to retry later). */
  private async deleteObjects(rel: string, objects: AppliedObject[]): Promise<AppliedObject[]> {
    const left: AppliedObject[] = [];
    for (const o of objects) {
      const ref = this.refFor(o.apiVersion, o.kind);
      // A kind no longer served (its CRD deleted) took its objects with it.
      if (!ref) continue;
      try {
        await this.opts.client.delete(ref, o.name, { ...(o.namespace ? { namespace: o.namespace } : {}), propagationPolicy: 'Background' });
        log.info('deleted with its manifest', { file: rel, kind: o.kind, namespace: o.namespace, name: o.name });
      } catch (e) {
        if (isNotFound(e)) continue;
        left.push(o);
        log.error('cannot delete object of a removed manifest', { file: rel, kind: o.kind, namespace: o.namespace, name: o.name, error: e });
      }
    }
    return left;
  }

  private report(rel: string, index: number, message: string, object?: KubeObject): void {
    const key = `${rel}#${index}`;
    if (this.reported.get(key) === message) return;
    this.reported.set(key, message);
    log.error('manifest document not applied', {
      file: rel,
      ...(index >= 0 ? { document: index } : {}),
      ...(object ? { kind: object.kind, name: object.metadata.name } : {}),
      error: message,
    });
  }

  private clearReport(rel: string, index: number): void {
    if (this.reported.delete(`${rel}#${index}`)) log.info('manifest document applied after earlier errors', { file: rel, document: index });
  }
}

function nextRetry(current: number, cap: number): number {
  return current === 0 ? Math.min(FIRST_RETRY_MS, cap) : Math.min(current * 2, cap);
}

export const manifestsComponent: Component = {
  name: 'manifests',
  background: true,
  async start(ctx) {
    const dir = manifestsDir(ctx.layout.dataDir);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const client = ctx.clientFor({ username: 'system:nanokube-manifests', groups: ['system:masters', 'system:authenticated'] }, 'nanokube/manifests');
    const sync = new ManifestSync({ dir, stateFile: manifestsStateFile(ctx.layout.dataDir), client, registry: ctx.registry, signal: ctx.signal });
    const first = await sync.pass();
    sync.run();
    return {
      detail: `${first.applied} applied, ${first.unchanged} unchanged${first.failed ? `, ${first.failed} failed` : ''}`,
      stop: () => sync.stop(),
    };
  },
};
