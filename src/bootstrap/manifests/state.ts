// What the manifests component has applied, kept in the data dir so a restart skips unchanged files
// and still knows which objects to delete when a file disappeared while the server was down.
import fs from 'node:fs';
import { writeFileAtomic } from '../../util/fs.ts';

export interface AppliedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  /** The object carried nanokube.io/delete-with-file: "true" when it was last applied. */
  deleteWithFile: boolean;
}

export interface AppliedFile {
  checksum: string;
  objects: AppliedObject[];
}

export interface ManifestState {
  version: 1;
  files: Record<string, AppliedFile>;
}

export function emptyState(): ManifestState {
  return { version: 1, files: {} };
}

/** A missing or unreadable state file means "nothing applied yet": everything is applied again. */
export function readState(file: string): ManifestState {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ManifestState>;
    if (parsed.version === 1 && parsed.files && typeof parsed.files === 'object') return { version: 1, files: parsed.files };
  } catch {
    /* fall through */
  }
  return emptyState();
}

export function writeState(file: string, state: ManifestState): void {
  writeFileAtomic(file, JSON.stringify(state, null, 2) + '\n', 0o600);
}

export const objectKey = (o: Pick<AppliedObject, 'apiVersion' | 'kind' | 'name' | 'namespace'>): string =>
  `${o.apiVersion}|${o.kind}|${o.namespace ?? ''}|${o.name}`;
