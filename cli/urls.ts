/**
 * Checks of the URLs `--remote-write` and `--archive` take, with messages that say what is wrong and never
 * repeat user info (`user:password@`).
 */

/**
 * A URL as it may be shown, its user info replaced by `***`. In a URL that parses, user info is what precedes
 * the last `@` of the authority; in one that does not, a password may hold an unencoded `/` or `#`, so
 * everything up to the last `@` goes.
 */
export function displayUrl(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url)?.[0] ?? '';
  const rest = url.slice(scheme.length);
  const authorityEnd = URL.canParse(url) ? rest.search(/[/?#]|$/) : rest.length;
  const at = rest.lastIndexOf('@', authorityEnd);
  return at < 0 ? url : `${scheme}***${rest.slice(at)}`;
}

/** Why `url` is not an http(s) URL, or undefined when it is one. Never repeats user info. */
export function remoteWriteUrlProblem(url: string): string | undefined {
  const shown = JSON.stringify(displayUrl(url));
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1];
  if (scheme === undefined) return `${shown} is not a URL: expected http://host:port/path or https://...`;
  if (!/^https?$/i.test(scheme)) return `scheme "${scheme}" is not supported: expected http:// or https://`;
  if (URL.canParse(url)) return undefined;
  const authority =
    displayUrl(url)
      .slice(scheme.length + 3)
      .split(/[/?#]/)[0] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  // An `@` after a `/`, `?` or `#`, or a second `@`: a password that needed percent-encoding.
  const afterScheme = url.slice(scheme.length + 3);
  const at = afterScheme.lastIndexOf('@');
  const encode =
    at >= 0 && (afterScheme.indexOf('@') !== at || /[/?#]/.test(afterScheme.slice(0, at)))
      ? ' (a user name or password holding / ? # or @ must be percent-encoded)'
      : '';
  if (hostPort === '') return `${shown} is not a valid URL: it has no host${encode}`;
  if (!URL.canParse(`http://${hostPort}`))
    return `${shown} is not a valid URL: host or port "${hostPort}" is malformed${encode}`;
  return `${shown} is not a valid URL${encode}`;
}

/**
 * Why an archive URL cannot be used, or undefined. A `file://` URL names a directory by its absolute path
 * (`file:///var/lib/pgotel`); in `file://relative/dir` the first segment is a host name, so it is refused
 * rather than guessed at.
 */
export function archiveUrlProblem(url: string): string | undefined {
  const shown = JSON.stringify(displayUrl(url));
  if (!/^(s3|file):\/\//.test(url))
    return `expected s3://bucket/prefix or file:///absolute/dir, got ${shown}`;
  if (!URL.canParse(url)) return `${shown} is not a valid URL`;
  const parsed = new URL(url);
  if (parsed.username !== '' || parsed.password !== '')
    return `${shown}: user info in an archive URL is not used (S3 takes the AWS credential chain)`;
  if (parsed.protocol !== 'file:') return undefined;
  const host = parsed.hostname;
  if (host !== '' && host !== 'localhost')
    return (
      `${shown} names the host "${host}", not a directory: a file URL takes an absolute path, ` +
      'file:///absolute/dir (three slashes); for a directory relative to the current one use pgotel collect --out DIR'
    );
  return undefined;
}
