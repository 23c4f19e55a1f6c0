import { createHash } from 'node:crypto';
import { FileHandle, open } from 'node:fs/promises';

/** Bytes of the first line that name a file's content, so a reused inode is not taken for the old file. */
export const FINGERPRINT_BYTES = 1024;
/** A longer line is still consumed to its end, but only this much of it is kept (it is refused anyway). */
export const MAX_LINE_BYTES = 64 * 1024;
const READ_CHUNK_BYTES = 256 * 1024;

/** Which file a position belongs to: device and inode, and a hash of its first line. */
export interface FileIdentity {
  readonly device: number;
  readonly inode: number;
  readonly fingerprint: string;
}

export function identityKey(identity: FileIdentity): string {
  return `${identity.device}-${identity.inode}-${identity.fingerprint}`;
}

export interface TailedLine {
  /** The line without its newline (and without a carriage return before it). */
  readonly text: Buffer;
  /** Byte offset of the line's first byte. */
  readonly start: number;
  /** True when the line was longer than MAX_LINE_BYTES and `text` holds only its beginning. */
  readonly oversize: boolean;
}

export interface LineBatch {
  readonly lines: readonly TailedLine[];
  /** The position after the last line of the batch: what is stored once the batch is committed. */
  readonly end: number;
}

export interface StoredPosition {
  readonly position: number;
  readonly sequence: number;
}

/**
 * One open file. Reads whole lines from the committed position on; a last line without its
 * newline waits for the writer (or, for `final` reads of a one-shot run, counts as a line). The
 * position moves only when the caller says the lines it read are committed, so a failed
 * transaction is retried from the same place. The descriptor stays open when the file is renamed
 * or deleted, so a rotated file is read to its end.
 */
export class FileTailer {
  private committedPosition = 0;
  private committedSequence = 0;
  private known?: FileIdentity;
  private lastSize = 0;
  private lastGrowth: number;
  private away = false;
  private awaitingResume = true;

  private constructor(
    public path: string,
    private readonly handle: FileHandle,
    readonly device: number,
    readonly inode: number,
    now: number,
  ) {
    this.lastGrowth = now;
  }

  /** Opens a file; undefined when it vanished in between (rotation races a glob). */
  static async open(path: string, now = Date.now()): Promise<FileTailer | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    // The identity of what was opened, not of what the path names a moment later.
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      return undefined;
    }
    return new FileTailer(path, handle, stat.dev, stat.ino, now);
  }

  get position(): number {
    return this.committedPosition;
  }

  get sequence(): number {
    return this.committedSequence;
  }

  get identity(): FileIdentity | undefined {
    return this.known;
  }

  /** No matched path names this file any more: it was rotated away or deleted. */
  get rotated(): boolean {
    return this.away;
  }

  markRotated(rotated: boolean): void {
    this.away = rotated;
  }

  /** The file's size now and whether it shrank below the position (copy-truncate). */
  async size(now = Date.now()): Promise<number> {
    const { size } = await this.handle.stat();
    if (size !== this.lastSize) this.lastGrowth = now;
    this.lastSize = size;
    return size;
  }

  /** Time since the file last changed size. */
  idleFor(now = Date.now()): number {
    return now - this.lastGrowth;
  }

  /**
   * The identity, once the first line is complete (or FINGERPRINT_BYTES long): until then the
   * file is not shipped, so its identity never changes under a stored position.
   */
  async identify(): Promise<FileIdentity | undefined> {
    if (this.known) return this.known;
    const fingerprint = await this.fingerprintNow();
    if (fingerprint === undefined) return undefined;
    this.known = { device: this.device, inode: this.inode, fingerprint };
    return this.known;
  }

  /** The hash of the first line as the file holds it now; undefined while that line is incomplete. */
  private async fingerprintNow(): Promise<string | undefined> {
    const head = Buffer.alloc(FINGERPRINT_BYTES);
    const { bytesRead } = await this.handle.read(head, 0, FINGERPRINT_BYTES, 0);
    const newline = head.subarray(0, bytesRead).indexOf(0x0a);
    if (newline === -1 && bytesRead < FINGERPRINT_BYTES) return undefined;
    const firstLine = head.subarray(0, newline === -1 ? bytesRead : newline);
    return createHash('sha256').update(firstLine).digest('hex').slice(0, 16);
  }

  /** True until `resume` ran or the file was truncated: a stored position applies to the file as first opened only. */
  get needsResume(): boolean {
    return this.awaitingResume;
  }

  /** Starts from a stored position (after a restart); a position past the end means the file was truncated since. */
  async resume(stored: StoredPosition | undefined): Promise<void> {
    this.awaitingResume = false;
    if (!stored) return;
    this.committedSequence = stored.sequence;
    this.committedPosition = stored.position <= (await this.size()) ? stored.position : 0;
  }

  /**
   * Copy-truncate: the file is shorter than the position, or (when it was truncated and written
   * past the old position between two polls) its first line is another one. Reading starts again
   * from 0 under the identity of the new first line; when that line is the same as before, the
   * sequence goes on so the run's sequence numbers stay unique.
   */
  async checkTruncated(): Promise<boolean> {
    const before = this.known;
    const shorter = (await this.size()) < this.committedPosition;
    if (!shorter) {
      if (!before || this.committedPosition === 0) return false;
      const now = await this.fingerprintNow();
      if (now === undefined || now === before.fingerprint) return false;
    }
    this.awaitingResume = false;
    this.committedPosition = 0;
    this.known = undefined;
    const after = await this.identify();
    if (!after || !before || identityKey(after) !== identityKey(before)) this.committedSequence = 0;
    return true;
  }

  /** Up to `maxLines` whole lines from the committed position; nothing moves until `commit`. */
  async read(maxLines: number, final = false): Promise<LineBatch> {
    const lines: TailedLine[] = [];
    const chunk = Buffer.alloc(READ_CHUNK_BYTES);
    let offset = this.committedPosition;
    let end = offset;
    let partial: Buffer[] = [];
    let partialBytes = 0;
    let partialStart = offset;
    let partialOversize = false;
    while (lines.length < maxLines) {
      const { bytesRead } = await this.handle.read(chunk, 0, READ_CHUNK_BYTES, offset);
      if (bytesRead === 0) break;
      let from = 0;
      while (lines.length < maxLines) {
        const newline = chunk.indexOf(0x0a, from);
        if (newline === -1 || newline >= bytesRead) break;
        const piece = chunk.subarray(from, newline);
        const oversize = partialOversize || partialBytes + piece.length > MAX_LINE_BYTES;
        const text = Buffer.concat([...partial, piece]).subarray(0, MAX_LINE_BYTES);
        lines.push({ text: stripCarriageReturn(text), start: partialStart, oversize });
        end = offset + newline + 1;
        partial = [];
        partialBytes = 0;
        partialOversize = false;
        partialStart = end;
        from = newline + 1;
      }
      if (lines.length >= maxLines) break;
      const rest = chunk.subarray(from, bytesRead);
      if (partialBytes + rest.length > MAX_LINE_BYTES) {
        partialOversize = true;
        const room = Math.max(0, MAX_LINE_BYTES - partialBytes);
        if (room > 0) partial.push(Buffer.from(rest.subarray(0, room)));
        partialBytes += rest.length;
      } else {
        partial.push(Buffer.from(rest));
        partialBytes += rest.length;
      }
      offset += bytesRead;
    }
    if (final && lines.length < maxLines && partialBytes > 0) {
      lines.push({ text: stripCarriageReturn(Buffer.concat(partial)), start: partialStart, oversize: partialOversize });
      end = partialStart + partialBytes;
    }
    return { lines, end };
  }

  commit(position: number, sequence: number): void {
    this.committedPosition = position;
    this.committedSequence = sequence;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

function stripCarriageReturn(text: Buffer): Buffer {
  return text.length > 0 && text[text.length - 1] === 0x0d ? text.subarray(0, text.length - 1) : text;
}

export function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}
