import { describe, expect, it } from 'vitest';
import { FileArchiveStore } from '../../../shared/archive/file-store.ts';
import { openArchiveStore } from '../../../shared/archive/open.ts';
import { createS3Client, S3ArchiveStore } from '../../../shared/archive/s3-store.ts';
import { ArchiveError } from '../../../shared/archive/store.ts';

describe('openArchiveStore', () => {
  const s3 = createS3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1' });

  it.each([
    ['s3://bucket', ''],
    ['s3://bucket/', ''],
    ['s3://bucket/pgotel', 'pgotel'],
    ['s3://bucket/a/b/', 'a/b'],
  ])('opens %s on S3 with prefix %j', (url, prefix) => {
    // Act
    const opened = openArchiveStore(url, { s3 });

    // Assess
    expect(opened.store).toBeInstanceOf(S3ArchiveStore);
    expect(opened.prefix).toBe(prefix);
    expect(opened.store.describe('k')).toBe('s3://bucket/k');
  });

  it('opens a file:// URL as a directory store with an empty prefix', () => {
    // Act
    const opened = openArchiveStore('file:///tmp/pgotel-archive', {});

    // Assess
    expect(opened.store).toBeInstanceOf(FileArchiveStore);
    expect(opened.prefix).toBe('');
    expect(opened.store.describe('k')).toBe('file:///tmp/pgotel-archive/k');
  });

  it('refuses an s3:// URL without an S3 client', () => {
    // Act
    const act = () => openArchiveStore('s3://bucket/p', {});

    // Assess
    expect(act).toThrow(new ArchiveError('archive url s3://bucket/p needs an S3 client'));
  });

  it('refuses other schemes', () => {
    // Act
    const act = () => openArchiveStore('gs://bucket/p', { s3 });

    // Assess
    expect(act).toThrow(
      'unsupported archive url gs://bucket/p: expected s3://bucket/prefix or file:///absolute/dir',
    );
  });
});
