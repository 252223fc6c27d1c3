// Helpers shared by the CLI commands: resolving a cluster by name, errors with exit codes, output.
import { readClusterRecord, type ClusterRecord } from '../config/cluster-record.ts';
import { clusterRecordDir, dataLayout, validateClusterName, type DataLayout } from '../config/paths.ts';
import { runningPid } from '../server/pidfile.ts';
import { readFileIfExists } from '../util/fs.ts';
import type { RuntimeInfo } from '../server/run.ts';

/** An error the CLI prints as `error: <message>` and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const defaultClusterName = 'default';
export const defaultApiPort = 6443;

export function checkName(name: string): string {
  const problem = validateClusterName(name);
  if (problem) throw new CliError(problem, 2);
  return name;
}

export interface ClusterView {
  name: string;
  record: ClusterRecord | undefined;
  dataDir: string;
  layout: DataLayout;
  pid: number | undefined;
  runtime: RuntimeInfo | undefined;
}

export function viewCluster(name: string, dataDirOverride?: string): ClusterView {
  const record = readClusterRecord(name);
  const dataDir = dataDirOverride ?? record?.dataDir ?? clusterRecordDir(name);
  const layout = dataLayout(dataDir);
  const pid = runningPid(layout.pidFile);
  let runtime: RuntimeInfo | undefined;
  const text = readFileIfExists(layout.runtimeFile);
  if (pid !== undefined && text) {
    try {
      runtime = JSON.parse(text) as RuntimeInfo;
    } catch {
      runtime = undefined;
    }
  }
  return { name, record, dataDir, layout, pid, runtime };
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`invalid port "${value}": use 0-65535 (0 picks a free port)`, 2);
  return n;
}

export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new CliError(`invalid duration "${value}": use e.g. 90s, 2m or 500ms`, 2);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
