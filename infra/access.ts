import type { PgotelConfig } from '../shared/config/schema.ts';

/**
 * What the config says the collector must reach, as IAM resource names. Pure functions of the config (no
 * constructs) so the least-privilege rules are testable on their own.
 */

/** A Secrets Manager ARN whose name ends with the random six-character suffix the service appends. */
const COMPLETE_SECRET_ARN = /^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;
/** `https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/api/v1/remote_write` */
const AMP_REMOTE_WRITE =
  /^https:\/\/aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com\/workspaces\/(ws-[A-Za-z0-9-]+)\//;

/** Every secret the collector reads: target credentials and remote-write passwords or tokens. */
export function configuredSecrets(config: PgotelConfig): string[] {
  const ids = config.targets.flatMap((t) => (t.secret_arn === undefined ? [] : [t.secret_arn]));
  const auth = config.remote_write?.auth;
  if (auth?.type === 'basic' && auth.password_secret_arn !== undefined) ids.push(auth.password_secret_arn);
  if (auth?.type === 'bearer' && auth.token_secret_arn !== undefined) ids.push(auth.token_secret_arn);
  return [...new Set(ids)];
}

/**
 * The IAM resource for a configured secret. A complete ARN is used as is. A partial ARN (no random suffix)
 * or a bare name gets `-??????`, which matches exactly one suffix: IAM evaluates GetSecretValue against the
 * complete ARN, so the partial one alone would deny every call.
 */
export function secretResource(id: string, partition: string, region: string, account: string): string {
  if (COMPLETE_SECRET_ARN.test(id)) return id;
  if (id.startsWith('arn:')) return `${id}-??????`;
  return `arn:${partition}:secretsmanager:${region}:${account}:secret:${id}-??????`;
}

/** The Amazon Managed Prometheus workspace a SigV4 remote-write URL points at. */
export interface AmpWorkspace {
  readonly region: string;
  readonly workspaceId: string;
}

/**
 * The AMP workspace to grant `aps:RemoteWrite` on, or `undefined` when remote-write does not sign with
 * SigV4. Fails synth for a SigV4 URL that is not an AMP remote-write URL: there is no resource to grant.
 */
export function ampWorkspace(config: PgotelConfig): AmpWorkspace | undefined {
  const remoteWrite = config.remote_write;
  if (remoteWrite?.auth.type !== 'sigv4') return undefined;
  const match = AMP_REMOTE_WRITE.exec(remoteWrite.url);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new Error(
      `remote_write.url: SigV4 needs an Amazon Managed Prometheus URL ` +
        `(https://aps-workspaces.<region>.amazonaws.com/workspaces/<ws-id>/api/v1/remote_write), got ${remoteWrite.url}`,
    );
  }
  return { region: match[1], workspaceId: match[2] };
}

/** An S3 archive location: bucket and key prefix without leading or trailing `/` ('' for the bucket root). */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

/**
 * The config's `archive.url` as an S3 location, or `undefined` when the config names none (the stack then
 * creates its own bucket). A `file://` archive fails synth: it would vanish with the Lambda's `/tmp`.
 */
export function configuredArchive(config: PgotelConfig): S3Location | undefined {
  const url = config.archive?.url;
  if (url === undefined) return undefined;
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (match?.[1] === undefined) {
    throw new Error(`archive.url: the deployed collector needs an s3:// archive, got ${url}`);
  }
  return { bucket: match[1], prefix: (match[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

/** `s3://bucket/prefix`, or `s3://bucket` for the bucket root. */
export function s3Url(location: S3Location): string {
  return location.prefix === '' ? `s3://${location.bucket}` : `s3://${location.bucket}/${location.prefix}`;
}

/** The object pattern a prefix covers: `prefix/*`, or `*` for the bucket root. */
export function objectPattern(prefix: string): string {
  return prefix === '' ? '*' : `${prefix}/*`;
}
