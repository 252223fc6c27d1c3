// Structured, line-oriented logs with a `component` field. Quiet by default (info and above);
// NANOKUBE_LOG=debug or `-v` turns on debug lines.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: number = order[(process.env.NANOKUBE_LOG as LogLevel) ?? 'info'] ?? order.info;
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

export function setLogLevel(level: LogLevel): void {
  threshold = order[level];
}

export function setLogSink(write: (line: string) => void): void {
  sink = write;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

export function logger(component: string): Logger {
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < threshold) return;
    const rec: Record<string, unknown> = { time: new Date().toISOString(), level, component, msg };
    if (fields) {
      for (const [k, v] of Object.entries(fields)) rec[k] = v instanceof Error ? v.message : v;
    }
    sink(JSON.stringify(rec));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (sub) => logger(`${component}/${sub}`),
  };
}
