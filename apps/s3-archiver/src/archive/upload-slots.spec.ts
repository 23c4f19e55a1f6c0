import { UploadSlots } from './upload-slots';

describe('UploadSlots', () => {
  it('runs at most its size of tasks at once, and every task in the end', async () => {
    const slots = new UploadSlots(3);
    let running = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const done = Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        slots.run(async () => {
          running++;
          most = Math.max(most, running);
          await new Promise<void>((resolve) => gates.push(resolve));
          running--;
          return i;
        }),
      ),
    );
    for (let released = 0; released < 10; released++) {
      while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
      gates.shift()?.();
    }
    await expect(done).resolves.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(3);
  });

  it('frees the slot of a task that failed', async () => {
    const slots = new UploadSlots(1);
    await expect(slots.run(() => Promise.reject(new Error('S3 is down')))).rejects.toThrow('S3 is down');
    await expect(slots.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });
});
