// The kine-shaped table: one row per write, row id = revision, UNIQUE(name, prev_revision) = CAS.

export const SCHEMA_VERSION = 1;

export const schemaSql = `
CREATE TABLE IF NOT EXISTS kv (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  name            TEXT    NOT NULL,
  created         INTEGER NOT NULL DEFAULT 0,
  deleted         INTEGER NOT NULL DEFAULT 0,
  create_revision INTEGER NOT NULL,
  prev_revision   INTEGER NOT NULL,
  lease           INTEGER NOT NULL DEFAULT 0,
  expires_at      INTEGER NOT NULL DEFAULT 0,
  value           TEXT    NOT NULL,
  UNIQUE (name, prev_revision)
);
-- Prefix scans and "latest row per name" both walk the unique index (name, prev_revision, rowid):
-- prev_revision grows with every write to a name, so its last entry is the newest row.
CREATE INDEX IF NOT EXISTS kv_expiring ON kv (expires_at) WHERE expires_at > 0;
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** Keys of the meta table. */
export const META = {
  schemaVersion: 'schema_version',
  /** Revisions below this may have lost superseded rows: reads and watches there → Compacted. */
  compactRevision: 'compact_revision',
  /** Rows at or below this id have been fully compacted (the compactor resumes after it). */
  compactedThrough: 'compacted_through',
} as const;
