// The channel protocols over WebSocket (channel.k8s.io, v2..v5): every binary message starts with a
// channel byte. Exec/attach use 0 stdin, 1 stdout, 2 stderr, 3 error/status, 4 resize; v5 adds
// 255 = "close channel N" so a client can end stdin without closing the connection.
export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export function encodeChannelMessage(channel: number, data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const out = Buffer.allocUnsafe(1 + body.length);
  out[0] = channel;
  body.copy(out, 1);
  return out;
}

export type ChannelMessage = { kind: 'data'; channel: number; data: Buffer } | { kind: 'close'; channel: number } | { kind: 'empty' };

export function decodeChannelMessage(message: Buffer, protocol: string): ChannelMessage {
  if (message.length === 0) return { kind: 'empty' };
  const channel = message[0]!;
  if (channel === Channel.close && protocol === 'v5.channel.k8s.io') {
    return message.length >= 2 ? { kind: 'close', channel: message[1]! } : { kind: 'empty' };
  }
  return { kind: 'data', channel, data: message.subarray(1) };
}

/** Resize messages carry {"Width":w,"Height":h} (capitalised, as Go marshals the struct). */
export function parseResize(data: Buffer): { width: number; height: number } | undefined {
  try {
    const v = JSON.parse(data.toString()) as { Width?: unknown; Height?: unknown };
    if (typeof v.Width === 'number' && typeof v.Height === 'number') return { width: v.Width, height: v.Height };
  } catch {
    // A malformed resize is dropped, as upstream does: the session goes on.
  }
  return undefined;
}

/** Protocols from v4 on report the end of a command as a metav1.Status; older ones as plain text. */
export function statusIsJson(protocol: string): boolean {
  return protocol === 'v4.channel.k8s.io' || protocol === 'v5.channel.k8s.io';
}

/** The 2-byte little-endian port that opens each channel of client-node's port-forward variant. */
export function portPrefix(port: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16LE(port);
  return b;
}
