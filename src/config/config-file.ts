import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';

/**
 * Limits on what reading a configuration may cost, main file and includes
 * together. A configuration is operator-written text: these are far above
 * any real one (a 1,000-service keepalived.conf is ~3 MB) and exist so a
 * mistaken or hostile include (`/dev/zero`, a huge log file, a glob over a
 * large tree) is refused instead of exhausting memory.
 */
export interface ReadLimits {
  /** Bytes read over all files of one load. */
  readonly maxTotalBytes: number;
  /** Files read in one load (the main file counts). */
  readonly maxFiles: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxTotalBytes: 64 * 1024 * 1024,
  maxFiles: 1024,
};

/** Counts what one load has read so far against its limits. */
export class ReadBudget {
  private bytes = 0;
  private files = 0;

  constructor(readonly limits: ReadLimits = DEFAULT_READ_LIMITS) {}

  /** Counts a file read elsewhere (the main file); returns why it is over a limit, if it is. */
  account(bytes: number): string | undefined {
    this.files++;
    this.bytes += bytes;
    return this.bytes > this.limits.maxTotalBytes ? this.sizeMessage() : undefined;
  }

  /** Reads `path` as configuration text, or says why it may not be read (`limit` when a budget is spent). */
  read(path: string): { text: string } | { error: string; limit?: true } {
    if (this.files >= this.limits.maxFiles) {
      return {
        error: `a configuration may consist of at most ${this.limits.maxFiles} files`,
        limit: true,
      };
    }
    const result = readConfigFile(path, this.limits.maxTotalBytes - this.bytes);
    if ('text' in result) {
      this.account(result.bytes);
      return { text: result.text };
    }
    if (result.tooLarge) return { error: this.sizeMessage(), limit: true };
    return result;
  }

  private sizeMessage(): string {
    return `configuration files may total at most ${this.limits.maxTotalBytes} bytes`;
  }
}

/** What a file that is not a regular file is, for messages. */
export function describeFileType(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a pipe';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Errno codes in words, for the ones a configuration path commonly meets. */
export function describeErrno(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'ELOOP':
      return 'symbolic link loop (too many levels of symbolic links)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    case 'ENAMETOOLONG':
      return 'path too long';
    default:
      return code ?? 'unknown error';
  }
}

/**
 * Reads a regular file of at most `maxBytes` bytes. Devices, pipes, sockets
 * and directories are refused before they are opened (reading /dev/zero
 * never ends, a tty or a pipe blocks); the file is opened non-blocking and
 * checked again on its descriptor in case the path was swapped in between,
 * and read only up to the limit whatever its reported size (/proc files
 * report 0).
 */
export function readConfigFile(
  path: string,
  maxBytes: number,
): { text: string; bytes: number } | { error: string; tooLarge?: true } {
  let fd: number;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) return { error: `${describeFileType(stats)}, not a regular file` };
    if (stats.size > maxBytes) return { error: 'too large', tooLarge: true };
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return { error: describeErrno((err as NodeJS.ErrnoException).code) };
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { error: `${describeFileType(stats)}, not a regular file` };
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(
        Math.min(Math.max(stats.size - total + 1, 1 << 16), 1 << 20),
      );
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) return { error: 'too large', tooLarge: true };
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    }
    return { text: Buffer.concat(chunks, total).toString('utf8'), bytes: total };
  } catch (err) {
    return { error: describeErrno((err as NodeJS.ErrnoException).code) };
  } finally {
    closeSync(fd);
  }
}
