import { describe, expect, it } from 'vitest';
import { archiveUrlProblem, displayUrl, remoteWriteUrlProblem } from '../../cli/urls.ts';

describe('displayUrl', () => {
  it.each([
    ['http://user:pw@host:9090/api/v1/write', 'http://***@host:9090/api/v1/write'],
    ['http://user:p/w@host/x', 'http://***@host/x'],
    ['http://user:pw@[bad', 'http://***@[bad'],
    ['user:pw@host', '***@host'],
    ['http://host/api/@v1', 'http://host/api/@v1'],
    ['file:///tmp/a@b', 'file:///tmp/a@b'],
  ])('shows %s as %s', (url, shown) => {
    expect(displayUrl(url)).toBe(shown);
  });
});

describe('URL checks', () => {
  it('accept the URLs they are for', () => {
    expect(remoteWriteUrlProblem('https://user:pw@aps.example/api/v1/remote_write')).toBeUndefined();
    expect(archiveUrlProblem('s3://bucket/prefix')).toBeUndefined();
    expect(archiveUrlProblem('file:///var/lib/pgotel')).toBeUndefined();
    expect(archiveUrlProblem('file://localhost/var/lib/pgotel')).toBeUndefined();
    expect(archiveUrlProblem('file:///tmp/with@sign')).toBeUndefined();
  });

  it('say what is wrong with an archive URL', () => {
    expect(archiveUrlProblem('s3://key:secret@bucket/p')).toBe(
      '"s3://***@bucket/p": user info in an archive URL is not used (S3 takes the AWS credential chain)',
    );
    expect(archiveUrlProblem('gs://bucket')).toBe(
      'expected s3://bucket/prefix or file:///absolute/dir, got "gs://bucket"',
    );
  });
});
