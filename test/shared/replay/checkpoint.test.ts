import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError, fileCheckpoint } from '../../../shared/replay/replay.ts';
import { makeTmpRoot } from '../../helpers/processes.ts';

const KEY = 'pgotel/year=2026/month=11/day=21/hour=10/minute=00/prod/orders/critical-20261121T100000Z.binpb';

/** 3,000 bytes that are not text, the way a wrong `--checkpoint` argument (an archive object) looks. */
function binary(): Buffer {
  const bytes = Buffer.alloc(3000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 73 + 11) % 256;
  return bytes;
}

async function loadError(path: string): Promise<Error> {
  const error = await fileCheckpoint(path)
    .load()
    .then(() => undefined)
    .catch((e: unknown) => e);
  if (!(error instanceof Error)) throw new Error('expected load to fail');
  return error;
}

describe('fileCheckpoint', () => {
  it('saves and loads the last key; a missing file means from the start', async () => {
    // Prepare
    const path = join(await makeTmpRoot('checkpoint'), 'nested', 'replay.ckpt');
    const checkpoint = fileCheckpoint(path);

    // Act
    const before = await checkpoint.load();
    await checkpoint.save(KEY);

    // Assess
    expect(before).toBeUndefined();
    expect(await readFile(path, 'utf8')).toBe(`${KEY}\n`);
    expect(await checkpoint.load()).toBe(KEY);
  });

  it('refuses a binary file in one short line naming it, without its bytes', async () => {
    // Prepare
    const path = join(await makeTmpRoot('checkpoint'), 'object.binpb');
    await writeFile(path, binary());

    // Act
    const error = await loadError(path);

    // Assess
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toBe(
      `checkpoint ${path} is not a replay checkpoint (binary data, not text); delete it or name another file`,
    );
  });

  it('refuses a large file by its size', async () => {
    // Prepare
    const path = join(await makeTmpRoot('checkpoint'), 'big.log');
    await writeFile(path, 'x'.repeat(100_000));

    // Act
    const error = await loadError(path);

    // Assess
    expect(error.message).toBe(
      `checkpoint ${path} is not a replay checkpoint (100,000 bytes, where one archive key is expected); delete it or name another file`,
    );
  });

  it.each([
    ['two lines', `${KEY}\n${KEY}\n`, 'more than one line'],
    ['an escape sequence', `\u001b[2J${KEY}`, 'binary data, not text'],
    ['a line that is not a key', 'hello world\n', '"hello world" is not an archive key'],
  ])('refuses %s', async (_, text, why) => {
    // Prepare
    const path = join(await makeTmpRoot('checkpoint'), 'replay.ckpt');
    await writeFile(path, text);

    // Act
    const error = await loadError(path);

    // Assess
    expect(error.message).toBe(
      `checkpoint ${path} is not a replay checkpoint (${why}); delete it or name another file`,
    );
  });

  it('says a directory is a directory, naming it', async () => {
    // Prepare
    const path = join(await makeTmpRoot('checkpoint'), 'a-directory');
    await mkdir(path);

    // Act
    const error = await loadError(path);

    // Assess
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toBe(`checkpoint ${path} is a directory`);
  });

  it('names the file when it cannot be written', async () => {
    // Prepare
    const dir = await makeTmpRoot('checkpoint');
    await writeFile(join(dir, 'file'), '');
    const path = join(dir, 'file', 'replay.ckpt');

    // Act
    const act = fileCheckpoint(path).save(KEY);

    // Assess
    await expect(act).rejects.toThrow(
      `checkpoint ${path} cannot be written: a parent of it is not a directory`,
    );
  });
});
