import { describe, expect, it } from 'vitest';
import { buildDestinations } from '../../cli/destinations.ts';

describe('buildDestinations', () => {
  it('applies the schema defaults to --remote-write without --config (per-attempt timeout, attempts, batch limits)', async () => {
    // Act
    const opened = await buildDestinations({ remoteWrite: 'http://127.0.0.1:9/api/v1/write' }, undefined, {});
    opened.close();

    // Assess
    expect(opened.destinations.remoteWrite).toMatchObject({
      url: 'http://127.0.0.1:9/api/v1/write',
      auth: { type: 'none' },
      timeoutMs: 10_000,
      maxAttempts: 5,
      maxSamples: 5000,
      maxBytes: 1_048_576,
    });
  });
});
