import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileArchiveStore } from '../../../shared/archive/file-store.ts';
import { ArchiveError } from '../../../shared/archive/store.ts';
import { makeTmpRoot } from '../../helpers/processes.ts';

const META = { contentType: 'application/x-protobuf' };

async function listAll(store: FileArchiveStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list(prefix)) keys.push(key);
  return keys;
}

describe('FileArchiveStore', () => {
  it('stores each key as a file below the root and leaves no temp file', async () => {
    // Prepare
    const dir = await makeTmpRoot('archive');
    const store = new FileArchiveStore(dir);

    // Act
    await store.put('a/b/c.binpb', new Uint8Array([1, 2, 3]), META);
    await store.put('a/b/c.binpb', new Uint8Array([4, 5]), META);

    // Assess
    expect([...(await readFile(join(dir, 'a/b/c.binpb')))]).toStrictEqual([4, 5]);
    expect(await readdir(join(dir, 'a/b'))).toStrictEqual(['c.binpb']);
    expect([...(await store.get('a/b/c.binpb'))]).toStrictEqual([4, 5]);
  });

  it('lists keys under a prefix in byte order, whether the prefix ends at a directory or inside a name', async () => {
    // Prepare
    const dir = await makeTmpRoot('archive');
    const store = new FileArchiveStore(dir);
    for (const key of ['p/x-1/k', 'p/x/b', 'p/x/a/deep', 'p/y', 'q/z', 'p/x.txt']) {
      await store.put(key, new Uint8Array([0]), META);
    }

    // Act
    const underP = await listAll(store, 'p/');
    const underPx = await listAll(store, 'p/x');
    const all = await listAll(store, '');
    const missing = await listAll(store, 'nope/year=2026/');

    // Assess
    expect(underP).toStrictEqual(['p/x-1/k', 'p/x.txt', 'p/x/a/deep', 'p/x/b', 'p/y']);
    expect(underPx).toStrictEqual(['p/x-1/k', 'p/x.txt', 'p/x/a/deep', 'p/x/b']);
    expect(all).toStrictEqual(['p/x-1/k', 'p/x.txt', 'p/x/a/deep', 'p/x/b', 'p/y', 'q/z']);
    expect(missing).toStrictEqual([]);
  });

  it.each(['../escape', 'a/../../b', '/abs', 'a//b', './a'])('rejects the key %j', async (key) => {
    // Prepare
    const store = new FileArchiveStore(await makeTmpRoot('archive'));

    // Act
    const act = store.put(key, new Uint8Array([0]), META);

    // Assess
    await expect(act).rejects.toThrow(ArchiveError);
    await expect(act).rejects.toThrow(`invalid archive key ${JSON.stringify(key)}`);
  });

  it('fails a get of a missing key with an ArchiveError naming the file', async () => {
    // Prepare
    const dir = await makeTmpRoot('archive');
    const store = new FileArchiveStore(dir);

    // Act
    const act = store.get('no/such.binpb');

    // Assess
    await expect(act).rejects.toThrow(`get file://${dir}/no/such.binpb failed: ENOENT`);
  });

  it.each([
    ['file:///var/archive', '/var/archive'],
    ['file:///var/with%20space', '/var/with space'],
    ['file://localhost/var/archive', '/var/archive'],
  ])('opens %s at %s', (url, root) => {
    // Act
    const store = FileArchiveStore.fromUrl(url);

    // Assess
    expect(store.root).toBe(root);
  });
});
