/**
 * Local-directory adapter of the archive store, for `pgotel collect` without AWS and for tests. Same key
 * layout as S3, one file per object; writes go to a temp file in the same directory, then rename, so a
 * reader (or a crash) never sees half an object.
 */
import { randomUUID } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArchiveObjectMeta, ArchiveStore } from './store.ts';
import { ArchiveError } from './store.ts';

const TEMP_SUFFIX = '.pgotel-tmp';

/** Archive objects below one directory; the key's `/` segments become subdirectories. */
export class FileArchiveStore implements ArchiveStore {
  /** Absolute root directory. */
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /**
   * `file:///abs/dir` (or `file://localhost/abs/dir`): a standard file URL, always absolute. In
   * `file://relative/dir` the first segment is a host name by the URL standard; rather than guess that a
   * directory relative to wherever the process happens to run was meant, it is refused.
   * @throws ArchiveError for anything but an absolute local file URL
   */
  static fromUrl(url: string): FileArchiveStore {
    if (!url.startsWith('file://')) throw new ArchiveError('not a file:// url');
    const rest = url.slice('file://'.length);
    if (rest === '') throw new ArchiveError('file:// archive url needs a directory');
    const host = URL.canParse(url) ? new URL(url).hostname : undefined;
    if (host === undefined) throw new ArchiveError('file:// archive url is not a valid URL');
    if (host !== '' && host !== 'localhost')
      throw new ArchiveError(
        `file:// archive url names the host "${host}", not a directory: use file:///absolute/dir (three slashes)`,
      );
    return new FileArchiveStore(fileURLToPath(url));
  }

  /** Writes to a unique temp file next to the target, fsyncs, then renames over the target. */
  async put(key: string, body: Uint8Array, _meta: ArchiveObjectMeta): Promise<void> {
    const path = this.pathOf(key);
    const temp = join(dirname(path), `.${randomUUID()}${TEMP_SUFFIX}`);
    try {
      await mkdir(dirname(path), { recursive: true });
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw new ArchiveError(`put ${this.describe(key)} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  /**
   * Walks only the deepest directory the prefix names, then sorts keys by UTF-8 bytes like S3. A missing
   * directory below the root holds no keys; a missing root is an error (a mistyped path would otherwise
   * look like an empty archive).
   * @throws ArchiveError when the root is missing or not a directory
   */
  async *list(prefix: string): AsyncIterable<string> {
    await this.assertRoot();
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    const keys: string[] = [];
    await this.walk(base, prefix, keys);
    keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    yield* keys;
  }

  /** The file's bytes. */
  async get(key: string): Promise<Uint8Array> {
    try {
      const buffer = await readFile(this.pathOf(key));
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (error) {
      throw new ArchiveError(`get ${this.describe(key)} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  /** `file:///abs/dir/key`. */
  describe(key: string): string {
    return `file://${join(this.root, key)}`;
  }

  private async assertRoot(): Promise<void> {
    let info: Stats;
    try {
      info = await stat(this.root);
    } catch (error) {
      const reason = isMissing(error) ? 'does not exist' : `cannot be read: ${messageOf(error)}`;
      throw new ArchiveError(`archive directory ${this.root} ${reason}`, { cause: error });
    }
    if (!info.isDirectory()) throw new ArchiveError(`archive directory ${this.root} is not a directory`);
  }

  private async walk(relDir: string, prefix: string, into: string[]): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(relDir === '' ? this.root : this.pathOf(relDir), { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw new ArchiveError(`list ${this.describe(prefix)} failed: ${messageOf(error)}`, { cause: error });
    }
    for (const entry of entries) {
      const key = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (entry.isDirectory()) {
        // Descend only where keys below can still start with the prefix.
        if (prefix.startsWith(`${key}/`) || `${key}/`.startsWith(prefix) || key.startsWith(prefix)) {
          await this.walk(key, prefix, into);
        }
      } else if (entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX) && key.startsWith(prefix)) {
        into.push(key);
      }
    }
  }

  /** Rejects keys that would leave the root (`..`, absolute paths, empty segments). */
  private pathOf(key: string): string {
    const segments = key.split('/');
    if (key.includes('\0') || segments.some((s) => s === '' || s === '.' || s === '..')) {
      throw new ArchiveError(`invalid archive key ${JSON.stringify(key)}`);
    }
    const path = join(this.root, ...segments);
    if (!path.startsWith(this.root + sep))
      throw new ArchiveError(`invalid archive key ${JSON.stringify(key)}`);
    return path;
  }
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
