import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/**
 * A SCRAM-SHA-256 verifier (RFC 5802, RFC 7677) in PostgreSQL's `rolpassword` format, computed on the client:
 * `ALTER ROLE … PASSWORD 'SCRAM-SHA-256$…'` then stores it as is, so the plain password never crosses the
 * network, never lands in the server log (`log_statement = ddl`) and is never printed — what psql's
 * `\password` does. A verifier lets the server check a password; it cannot be used to log in.
 */

/** PostgreSQL's default `scram_iterations` (the setting exists from 16; older servers use 4096 too). */
const DEFAULT_ITERATIONS = 4096;

/** RFC 3454 table C.1.2: non-ASCII spaces, mapped to U+0020 by SASLprep. */
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
/** RFC 3454 table B.1: characters SASLprep maps to nothing (soft hyphen, joiners, variation selectors). */
// biome-ignore lint/suspicious/noMisleadingCharacterClass: the RFC's table holds joiners and selectors on purpose
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B\u180C\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;

/**
 * SASLprep's mapping and NFKC steps, as PostgreSQL's server, libpq and node-postgres apply them before hashing:
 * a verifier computed from the raw text of a password such as `ﬁ` would not match what the client sends.
 */
function saslprep(password: string): string {
  return password.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC');
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

/**
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` for `password`, with a fresh 16-byte salt
 * unless one is given (tests).
 */
export function scramSha256Verifier(
  password: string,
  options: { readonly salt?: Buffer; readonly iterations?: number } = {},
): string {
  const salt = options.salt ?? randomBytes(16);
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  const salted = pbkdf2Sync(saslprep(password), salt, iterations, 32, 'sha256');
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
