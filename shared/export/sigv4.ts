import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, HttpRequest } from '@smithy/types';

/**
 * AWS Signature Version 4 for remote-write to Amazon Managed Service for Prometheus (service `aps`).
 * The signing libraries and the default credential chain are imported on first use, so a collector
 * that does not use SigV4 does not pay for them at cold start.
 */

/** SigV4 settings of a remote-write endpoint. */
export interface SigV4Options {
  readonly region: string;
  /** @default 'aps' */
  readonly service?: string;
  /** @default `fromNodeProviderChain()` of `@aws-sdk/credential-providers` */
  readonly credentials?: AwsCredentialIdentityProvider;
}

/** What is signed: the final URL, method, headers and body bytes of one attempt. */
export interface SignableRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** Signs one request and returns the headers to send (the input headers plus the SigV4 ones, no `host`). */
export type RequestSigner = (request: SignableRequest, signingDate?: Date) => Promise<Record<string, string>>;

/** The credential provider could not produce credentials (no role, expired session, ...). */
export class SigV4CredentialsError extends Error {
  override readonly name = 'SigV4CredentialsError';
}

/**
 * The request in the shape the smithy signer wants. `host` is included because it is signed; fetch
 * derives the very same `Host` header from the URL, so it is removed again before sending.
 */
export function toSmithyRequest(request: SignableRequest): HttpRequest {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of request.url.searchParams) {
    const existing = query[key];
    if (existing === undefined) query[key] = value;
    else query[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  const port = request.url.port === '' ? undefined : Number(request.url.port);
  return {
    method: request.method,
    protocol: request.url.protocol,
    hostname: request.url.hostname,
    ...(port === undefined ? {} : { port }),
    path: request.url.pathname,
    query,
    headers: { ...request.headers, host: request.url.host },
    body: request.body,
  };
}

/** Builds a signer for `options`; credentials are resolved (and refreshed by the provider) per signature. */
export async function createSigV4Signer(options: SigV4Options): Promise<RequestSigner> {
  const [{ SignatureV4 }, { Sha256 }] = await Promise.all([
    import('@smithy/signature-v4'),
    import('@aws-crypto/sha256-js'),
  ]);
  let provider = options.credentials;
  const credentials = async (): Promise<AwsCredentialIdentity> => {
    if (provider === undefined) {
      const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
      provider = fromNodeProviderChain();
    }
    try {
      return await provider();
    } catch (error) {
      // The provider's message can name profiles and endpoints but never holds key material.
      const reason = error instanceof Error ? error.message : String(error);
      throw new SigV4CredentialsError(`no AWS credentials for SigV4: ${reason}`, { cause: error });
    }
  };
  const signer = new SignatureV4({
    service: options.service ?? 'aps',
    region: options.region,
    credentials,
    sha256: Sha256,
  });
  return async (request, signingDate) => {
    const signed = await signer.sign(
      toSmithyRequest(request),
      signingDate === undefined ? {} : { signingDate },
    );
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) {
      if (name.toLowerCase() !== 'host') headers[name] = value;
    }
    return headers;
  };
}
