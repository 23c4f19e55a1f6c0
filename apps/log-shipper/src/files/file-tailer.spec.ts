import { appendFileSync, copyFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileSet } from './file-set';
import { FileTailer, identityKey, LineBatch, MAX_LINE_BYTES } from './file-tailer';

const texts = (batch: LineBatch) => batch.lines.map((line) => line.text.toString('utf8'));

/** Reads and commits everything whole a tailer has now, as a shipper would after each transaction. */
async function drain(tailer: FileTailer, final = false): Promise<string[]> {
  const all: string[] = [];
  for (;;) {
    const batch = await tailer.read(2, final);
    if (batch.lines.length === 0) return all;
    all.push(...texts(batch));
    tailer.commit(batch.end, tailer.sequence + batch.lines.length);
  }
}

describe('FileTailer and FileSet on real files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tailer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('follows growth, reads whole lines only, and a partial last line waits for its newline', async () => {
    const file = path.join(dir, 'access.log');
    writeFileSync(file, 'one\ntwo\r\nthr');
    const tailer = (await FileTailer.open(file)) as FileTailer;
    expect(await drain(tailer)).toEqual(['one', 'two']);
    expect(await drain(tailer)).toEqual([]);
    appendFileSync(file, 'ee\nfour\n');
    expect(await drain(tailer)).toEqual(['three', 'four']);
    expect(tailer.sequence).toBe(4);
    appendFileSync(file, 'no newline yet');
    expect(await drain(tailer, true)).toEqual(['no newline yet']);
    await tailer.close();
  });

  it('rereads from the committed position when a batch was not committed (a failed transaction)', async () => {
    const file = path.join(dir, 'access.log');
    writeFileSync(file, 'a\nb\nc\n');
    const tailer = (await FileTailer.open(file)) as FileTailer;
    const first = await tailer.read(2);
    expect(texts(first)).toEqual(['a', 'b']);
    expect(texts(await tailer.read(2))).toEqual(['a', 'b']);
    tailer.commit(first.end, 2);
    expect(texts(await tailer.read(2))).toEqual(['c']);
    await tailer.close();
  });

  it('keeps the beginning of an oversize line, flags it, and carries on with the next line', async () => {
    const file = path.join(dir, 'access.log');
    writeFileSync(file, `${'x'.repeat(MAX_LINE_BYTES * 5)}\nafter\n`);
    const tailer = (await FileTailer.open(file)) as FileTailer;
    const batch = await tailer.read(10);
    expect(batch.lines.map((l) => [l.text.length, l.oversize])).toEqual([
      [MAX_LINE_BYTES, true],
      [5, false],
    ]);
    await tailer.close();
  });

  it('identifies a file by device, inode and its first line; waits for a first line to finish', async () => {
    const file = path.join(dir, 'access.log');
    writeFileSync(file, 'partial');
    const tailer = (await FileTailer.open(file)) as FileTailer;
    expect(await tailer.identify()).toBeUndefined();
    appendFileSync(file, ' line\nsecond\n');
    const identity = await tailer.identify();
    expect(identity).toMatchObject({ device: tailer.device, inode: tailer.inode });
    expect(identityKey(identity!)).toMatch(/^\d+-\d+-[0-9a-f]{16}$/);
    await tailer.close();
  });

  it('rotation by rename: finishes the old file from its open descriptor, then starts the new one from 0', async () => {
    const file = path.join(dir, 'access.log');
    writeFileSync(file, 'old-1\nold-2\n');
    const files = new FileSet([{ pattern: file, format: 'combined' }], { rotatedGraceMs: 1000 });
    const { opened } = await files.refresh(0);
    const old = opened[0].tailer;
    expect(await drain(old)).toEqual(['old-1', 'old-2']);
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, 'old-3 written after the rename\n');
    writeFileSync(file, 'new-1\n');
    const second = await files.refresh(0);
    expect(second.opened.map((f) => f.tailer.path)).toEqual([file]);
    expect(old.rotated).toBe(true);
    expect(files.files()[0].tailer).toBe(old);
    expect(await drain(old)).toEqual(['old-3 written after the rename']);
    expect(await drain(second.opened[0].tailer)).toEqual(['new-1']);
    // Drained, but a writer may still append before it reopens: the grace keeps it open a while.
    expect((await files.refresh(500)).closed).toEqual([]);
    expect((await files.refresh(5000)).closed.map((f) => f.tailer)).toEqual([old]);
    await files.close();
  });

  it('rotation by copy-truncate: a size below the position starts again from 0, under a new identity', async () => {
    const file = path.join(dir, 'access.log');
    writeFileSync(file, 'first-1\nfirst-2\n');
    const tailer = (await FileTailer.open(file)) as FileTailer;
    expect(await drain(tailer)).toEqual(['first-1', 'first-2']);
    const before = identityKey((await tailer.identify())!);
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    appendFileSync(file, 'second-1\n');
    expect(await tailer.checkTruncated()).toBe(true);
    expect(tailer.position).toBe(0);
    expect(tailer.sequence).toBe(0);
    expect(identityKey((await tailer.identify())!)).not.toBe(before);
    expect(await drain(tailer)).toEqual(['second-1']);
    expect(await tailer.checkTruncated()).toBe(false);
    await tailer.close();
  });

  it('copy-truncate written past the old position between two polls is still seen, by its first line', async () => {
    const file = path.join(dir, 'access.log');
    writeFileSync(file, 'old-1\nold-2\n');
    const tailer = (await FileTailer.open(file)) as FileTailer;
    await tailer.identify();
    expect(await drain(tailer)).toEqual(['old-1', 'old-2']);
    truncateSync(file, 0);
    appendFileSync(file, 'new-line-1\nnew-line-2\n');
    expect(await tailer.checkTruncated()).toBe(true);
    expect(await drain(tailer)).toEqual(['new-line-1', 'new-line-2']);
    expect(await tailer.checkTruncated()).toBe(false);
    await tailer.close();
  });

  it('copy-truncate with the same first line again keeps counting the sequence, so sequences stay unique', async () => {
    const file = path.join(dir, 'access.log');
    writeFileSync(file, 'same\nsame\nsame\n');
    const tailer = (await FileTailer.open(file)) as FileTailer;
    await tailer.identify();
    await drain(tailer);
    truncateSync(file, 0);
    writeFileSync(file, 'same\n');
    expect(await tailer.checkTruncated()).toBe(true);
    expect(tailer.sequence).toBe(3);
    await tailer.close();
  });

  it('resumes from a stored position, and from 0 when the stored position is past the end', async () => {
    const file = path.join(dir, 'access.log');
    writeFileSync(file, 'a\nb\nc\n');
    const tailer = (await FileTailer.open(file)) as FileTailer;
    await tailer.resume({ position: 4, sequence: 2 });
    expect(await drain(tailer)).toEqual(['c']);
    expect(tailer.sequence).toBe(3);
    const other = (await FileTailer.open(file)) as FileTailer;
    await other.resume({ position: 600, sequence: 9 });
    expect(other.position).toBe(0);
    await Promise.all([tailer.close(), other.close()]);
  });

  it('re-expands globs on each refresh, tracks a renamed file by inode, and closes a deleted file once drained', async () => {
    const files = new FileSet([{ pattern: path.join(dir, '*.log'), format: 'json' }], { rotatedGraceMs: 0 });
    expect((await files.refresh()).opened).toEqual([]);
    writeFileSync(path.join(dir, 'a.log'), 'a\n');
    const first = await files.refresh();
    expect(first.opened.map((f) => [path.basename(f.tailer.path), f.format])).toEqual([['a.log', 'json']]);
    writeFileSync(path.join(dir, 'b.log'), 'b\n');
    renameSync(path.join(dir, 'a.log'), path.join(dir, 'c.log'));
    const second = await files.refresh();
    expect(second.opened.map((f) => path.basename(f.tailer.path))).toEqual(['b.log']);
    expect(path.basename(first.opened[0].tailer.path)).toBe('c.log');
    rmSync(path.join(dir, 'c.log'));
    expect((await files.refresh()).closed).toEqual([]);
    await drain(first.opened[0].tailer);
    expect((await files.refresh()).closed.map((f) => f.tailer)).toEqual([first.opened[0].tailer]);
    await files.close();
  });
});
