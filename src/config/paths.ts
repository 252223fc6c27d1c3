// Where a cluster's files live. Home: $NANOKUBE_HOME or ~/.nanokube; cluster <name> keeps its record
// in <home>/<name>/cluster.json; its data dir is that folder unless --data-dir put it elsewhere.
import os from 'node:os';
import path from 'node:path';

export function nanokubeHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.NANOKUBE_HOME || path.join(os.homedir(), '.nanokube');
}

const namePattern = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;

/** Cluster names become Docker labels, iptables chain suffixes and kubeconfig entries: keep them tame. */
export function validateClusterName(name: string): string | undefined {
  if (!namePattern.test(name)) {
    return `invalid cluster name "${name}": use 1-40 lowercase letters, digits or '-', starting and ending with a letter or digit`;
  }
  return undefined;
}

export function clusterRecordDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(nanokubeHome(env), name);
}

/** The files of one cluster's data dir. */
export interface DataLayout {
  dataDir: string;
  pkiDir: string;
  dbDir: string;
  storageDir: string;
  logFile: string;
  pidFile: string;
  kubeconfigFile: string;
  /** Written by the server when it is ready: port, pid, start time. */
  runtimeFile: string;
}

export function dataLayout(dataDir: string): DataLayout {
  return {
    dataDir,
    pkiDir: path.join(dataDir, 'pki'),
    dbDir: path.join(dataDir, 'db'),
    storageDir: path.join(dataDir, 'storage'),
    logFile: path.join(dataDir, 'server.log'),
    pidFile: path.join(dataDir, 'server.pid'),
    kubeconfigFile: path.join(dataDir, 'kubeconfig.yaml'),
    runtimeFile: path.join(dataDir, 'runtime.json'),
  };
}
