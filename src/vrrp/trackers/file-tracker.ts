import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../log.js';

/** A keepalived `track_file`. */
export interface TrackFileDefinition {
  readonly name: string;
  readonly path: string;
  /** Default weight for instances that track it without one (default 1). */
  readonly weight?: number;
  readonly reverse?: boolean;
}

/**
 * Reads a number from a file whenever the file changes (inotify through
 * fs.watch on its directory, so creation and removal are seen too). A missing
 * or non-numeric file reads as 0, as in keepalived.
 */
export class FileTracker {
  readonly definition: TrackFileDefinition;
  private current = 0;
  private watcher: FSWatcher | undefined;
  private readonly listeners = new Set<(value: number) => void>();
  private readonly logger: Logger;

  constructor(definition: TrackFileDefinition, deps: { logger: Logger }) {
    this.definition = definition;
    this.logger = deps.logger;
    this.current = this.read();
  }

  value(): number {
    return this.current;
  }

  onChange(listener: (value: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.watcher) return;
    const name = basename(this.definition.path);
    this.watcher = watch(dirname(this.definition.path), (_event, file) => {
      if (file === null || file.toString() === name) this.refresh();
    });
    this.watcher.on('error', (err) => {
      this.logger.warn({ file: this.definition.path, err }, 'cannot watch track file');
    });
    this.refresh();
  }

  /** Re-reads the file and notifies when the value changed. */
  refresh(): void {
    const next = this.read();
    if (next === this.current) return;
    this.current = next;
    this.logger.info({ file: this.definition.path, value: next }, 'track file changed');
    for (const listener of this.listeners) listener(next);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private read(): number {
    let text: string;
    try {
      text = readFileSync(this.definition.path, 'utf8');
    } catch {
      return 0;
    }
    const value = Number.parseInt(text.trim(), 10);
    return Number.isNaN(value) ? 0 : value;
  }
}
