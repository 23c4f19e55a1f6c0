import { glob, stat } from 'node:fs/promises';
import path from 'node:path';
import { FileSpec, LogFormat } from './file-spec';
import { FileTailer, isMissing } from './file-tailer';

export interface TrackedFile {
  readonly tailer: FileTailer;
  readonly format: LogFormat;
}

export interface FileSetOptions {
  /** How long a rotated-away file stays open after its last growth: a writer may not have reopened yet. */
  readonly rotatedGraceMs: number;
}

const GLOB_CHARACTERS = /[*?[\]{}]/;

/**
 * The files the configuration matches, by identity (device and inode): globs are expanded again
 * on every refresh, a file renamed to another matched name is the same file under a new path, and
 * a file no matched path names any more (rotated by rename, or deleted) is read to its end from
 * the descriptor still open before it is closed.
 */
export class FileSet {
  private readonly tracked = new Map<string, TrackedFile>();

  constructor(
    private readonly specs: readonly FileSpec[],
    private readonly options: FileSetOptions,
  ) {}

  /** Every file tracked now, rotated ones first so a rotated file is finished before its successor grows far. */
  files(): TrackedFile[] {
    return [...this.tracked.values()].sort((a, b) => Number(b.tailer.rotated) - Number(a.tailer.rotated));
  }

  /**
   * Re-expands the patterns. Returns the files newly opened (the caller gives them their stored
   * positions) and the ones closed (drained after rotation).
   */
  async refresh(now = Date.now()): Promise<{ opened: TrackedFile[]; closed: TrackedFile[] }> {
    const present = new Set<string>();
    const opened: TrackedFile[] = [];
    for (const [file, format] of await this.matches()) {
      let info;
      try {
        info = await stat(file);
      } catch (error) {
        if (isMissing(error)) continue;
        throw error;
      }
      if (!info.isFile()) continue;
      const id = `${info.dev}:${info.ino}`;
      const known = this.tracked.get(id);
      if (known) {
        known.tailer.path = file;
        present.add(id);
        continue;
      }
      const tailer = await FileTailer.open(file, now);
      if (!tailer) continue;
      const opening = `${tailer.device}:${tailer.inode}`;
      if (this.tracked.has(opening)) {
        await tailer.close();
        present.add(opening);
        continue;
      }
      const entry = { tailer, format };
      this.tracked.set(opening, entry);
      present.add(opening);
      opened.push(entry);
    }
    const closed: TrackedFile[] = [];
    for (const [id, entry] of this.tracked) {
      entry.tailer.markRotated(!present.has(id));
      if (!entry.tailer.rotated) continue;
      const size = await entry.tailer.size(now);
      if (entry.tailer.position >= size && entry.tailer.idleFor(now) >= this.options.rotatedGraceMs) {
        this.tracked.delete(id);
        await entry.tailer.close();
        closed.push(entry);
      }
    }
    return { opened, closed };
  }

  async close(): Promise<void> {
    for (const entry of this.tracked.values()) await entry.tailer.close();
    this.tracked.clear();
  }

  /** Matched paths in a stable order, each with the format of the first entry that matched it. */
  private async matches(): Promise<Map<string, LogFormat>> {
    const found = new Map<string, LogFormat>();
    for (const spec of this.specs) {
      if (!GLOB_CHARACTERS.test(spec.pattern)) {
        if (!found.has(spec.pattern)) found.set(spec.pattern, spec.format);
        continue;
      }
      const paths: string[] = [];
      for await (const entry of glob(spec.pattern)) paths.push(path.resolve(entry));
      for (const file of paths.sort()) if (!found.has(file)) found.set(file, spec.format);
    }
    return found;
  }
}
