/** Port for reading secrets (database credentials, remote-write passwords and tokens) by ARN. */

/** Options of `SecretSource.get`. */
export interface SecretGetOptions {
  /**
   * Bypass any cache and read the current value (then cache it). Used once after an authentication
   * failure, so a rotated password is picked up by the very next attempt instead of after the cache expires.
   * @default false
   */
  readonly fresh?: boolean;
}

/** Where secrets come from; the shell picks the adapter (Secrets Manager in Lambda). */
export interface SecretSource {
  /** The secret's string value; rejects with a `SecretError`. */
  get(arn: string, options?: SecretGetOptions): Promise<string>;
}

/**
 * A secret could not be read or does not have the expected shape. The message names the ARN and the reason
 * (AccessDenied, ResourceNotFound, not a string secret, timeout, a missing field) and never the secret value.
 */
export class SecretError extends Error {
  override readonly name = 'SecretError';
  readonly arn: string;
  constructor(arn: string, reason: string, options?: { cause?: unknown }) {
    super(`secret ${arn}: ${reason}`, options);
    this.arn = arn;
  }
}
