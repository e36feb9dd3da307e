import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from './ports.ts';

function listen(port: number): Promise<() => Promise<void>> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve(() => new Promise<void>((done) => server.close(() => done()))),
    );
  });
}

describe('freePort', () => {
  it('returns a port a server can bind on 127.0.0.1', async () => {
    // Act
    const port = await freePort();
    const close = await listen(port);

    // Assess
    await close();
    expect(Number.isInteger(port) && port >= 1024 && port <= 65_535).toBe(true);
  });

  it('does not hand out the same port twice', async () => {
    // Act
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));

    // Assess
    expect(new Set(ports).size).toBe(20);
  });
});
