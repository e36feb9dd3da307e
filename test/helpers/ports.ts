import { createServer } from 'node:net';

/**
 * Ports handed out by this process recently. The OS may return a port again as soon as the probe socket
 * closes, before the server that asked for it has bound it; remembering them avoids giving one port to two
 * servers started back to back in the same worker.
 */
const handedOut = new Set<number>();

function probePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Another process can still take it before the caller
 * binds it, so servers started on it should retry with a new port when binding fails.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await probePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: no unused port found after 50 attempts');
}
