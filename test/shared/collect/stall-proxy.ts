import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real PostgreSQL that goes silent at a chosen step of the protocol: the
 * network failure a real server cannot be made to produce on demand (a peer that stops answering
 * without closing, as behind a dropped route or a frozen host).
 */

/** One client connection as the proxy sees it. */
export interface ProxiedSession {
  /** The `database` of the startup packet. */
  readonly database: string;
}

/**
 * Decides, for each chunk the client sends after the startup packet, whether the connection goes
 * silent from that chunk on: nothing more is forwarded either way, and neither side is closed.
 */
export type StallWhen = (chunk: Buffer, session: ProxiedSession) => boolean;

/** A running stall proxy. */
export interface StallProxy {
  readonly port: number;
  /** How many connections went silent so far. */
  readonly stalled: number;
  /** Closes the proxy and every connection, the silent ones included. */
  close(): Promise<void>;
}

/** The startup packet's `database` (defaults to the user, as in PostgreSQL); '' when it is not one. */
function startupDatabase(packet: Buffer): string {
  if (packet.length < 8 || packet.readInt32BE(4) !== 196608) return '';
  const fields = packet.subarray(8).toString('utf8').split('\0');
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i] ?? '', fields[i + 1] ?? '');
  return values.get('database') ?? values.get('user') ?? '';
}

/** A chunk holding the Terminate message the client sends when it closes the session. */
export function isTerminate(chunk: Buffer): boolean {
  return chunk.length >= 5 && chunk[chunk.length - 5] === 0x58 && chunk.readInt32BE(chunk.length - 4) === 4;
}

/** A chunk whose SQL text contains `text`. */
export function sqlContains(text: string): (chunk: Buffer) => boolean {
  return (chunk) => chunk.toString('utf8').includes(text);
}

/** Starts a proxy on 127.0.0.1 that forwards to `upstreamPort` until `stallWhen` says otherwise. */
export async function startStallProxy(upstreamPort: number, stallWhen: StallWhen): Promise<StallProxy> {
  const sockets = new Set<Socket>();
  let stalled = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  };
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    track(client);
    const upstream = connect({ host: '127.0.0.1', port: upstreamPort, allowHalfOpen: true });
    track(upstream);
    let session: ProxiedSession | undefined;
    let silent = false;
    client.on('data', (chunk: Buffer) => {
      if (silent) return;
      if (session === undefined) {
        session = { database: startupDatabase(chunk) };
      } else if (stallWhen(chunk, session)) {
        silent = true;
        stalled++;
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!silent) client.write(chunk);
    });
    // A silent peer never closes: only a live connection passes a close on.
    client.on('end', () => {
      if (!silent) upstream.end();
    });
    upstream.on('end', () => {
      if (!silent) client.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    get stalled() {
      return stalled;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
