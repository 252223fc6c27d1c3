// The pipe between `nanokube start` and the server it spawns: the server writes one JSON line per
// finished start-up step, then `ready` or `error`. After that `start` closes its end and exits, so
// the server stops writing (and ignores the broken pipe).
import fs from 'node:fs';
import type { ProgressSink } from '../server/run.ts';

export type StatusMessage =
  | { type: 'step'; name: string; ms: number; detail?: string }
  | { type: 'ready'; apiPort: number; apiServer: string; ms: number }
  | { type: 'error'; message: string };

export interface StatusChannel extends ProgressSink {
  ready(apiPort: number, apiServer: string, ms: number): void;
  error(message: string): void;
}

export function openStatusChannel(fd: number | undefined, echo: (line: string) => void): StatusChannel {
  let stream: fs.WriteStream | undefined;
  if (fd !== undefined) {
    stream = fs.createWriteStream('', { fd, autoClose: true });
    stream.on('error', () => {
      stream = undefined;
    });
  }
  const send = (msg: StatusMessage, close = false) => {
    if (stream) {
      stream.write(JSON.stringify(msg) + '\n');
      if (close) {
        stream.end();
        stream = undefined;
      }
    }
  };
  return {
    step(name, ms, detail) {
      echo(`step ${name} ${Math.round(ms)} ms${detail ? ` (${detail})` : ''}`);
      send({ type: 'step', name, ms, ...(detail ? { detail } : {}) });
    },
    ready(apiPort, apiServer, ms) {
      echo(`ready at ${apiServer} in ${Math.round(ms)} ms`);
      send({ type: 'ready', apiPort, apiServer, ms }, true);
    },
    error(message) {
      echo(`error: ${message}`);
      send({ type: 'error', message }, true);
    },
  };
}
