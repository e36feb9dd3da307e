import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileArchiveStore } from '../../../shared/archive/file-store.ts';
import { openArchiveStore } from '../../../shared/archive/open.ts';
import { ArchiveError } from '../../../shared/archive/store.ts';
import { makeTmpRoot } from '../../helpers/processes.ts';

async function listAll(store: FileArchiveStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list(prefix)) keys.push(key);
  return keys;
}

describe('FileArchiveStore root', () => {
  it('refuses to list an archive directory that does not exist, naming it', async () => {
    // Prepare
    const dir = join(await makeTmpRoot('archive'), 'typo');
    const store = new FileArchiveStore(dir);

    // Act
    const act = listAll(store, 'year=2026/');

    // Assess
    await expect(act).rejects.toThrow(ArchiveError);
    await expect(act).rejects.toThrow(`archive directory ${dir} does not exist`);
  });

  it('refuses to list a root that is a file', async () => {
    // Prepare
    const file = join(await makeTmpRoot('archive'), 'plain-file');
    await writeFile(file, 'x');

    // Act
    const act = listAll(new FileArchiveStore(file), '');

    // Assess
    await expect(act).rejects.toThrow(`archive directory ${file} is not a directory`);
  });

  it('lists nothing, without error, under an existing root with no such partition', async () => {
    const store = new FileArchiveStore(await makeTmpRoot('archive'));

    expect(await listAll(store, 'year=2026/month=01/')).toEqual([]);
  });

  it.each([
    [
      'file://relative/dir',
      'file:// archive url names the host "relative", not a directory: use file:///absolute/dir (three slashes)',
    ],
    [
      'file://archive',
      'file:// archive url names the host "archive", not a directory: use file:///absolute/dir (three slashes)',
    ],
  ])('refuses %s rather than resolving it against the working directory', (url, message) => {
    // Act
    const act = () => openArchiveStore(url, {});

    // Assess
    expect(act).toThrow(ArchiveError);
    expect(act).toThrow(message);
  });

  it('accepts file://localhost/abs/dir, the other spelling of an absolute file URL', () => {
    expect(FileArchiveStore.fromUrl('file://localhost/var/archive').root).toBe('/var/archive');
  });

  it('never repeats user info of an unsupported URL', () => {
    expect(() => openArchiveStore('gs://user:S3cret@bucket/p', {})).toThrow(
      'unsupported archive url gs://***@bucket/p: expected s3://bucket/prefix or file:///absolute/dir',
    );
  });
});
