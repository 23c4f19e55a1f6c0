import { WriteEnds } from './write-ends';

const settled = async (promise: Promise<void>) => {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('WriteEnds', () => {
  it('wakes every waiter when the next write ends, not before', async () => {
    const ends = new WriteEnds();
    const first = ends.wait();
    const second = ends.wait();
    expect(await settled(first)).toBe(false);
    ends.ended();
    expect([await settled(first), await settled(second)]).toEqual([true, true]);
  });

  it('makes a wait after an end wait for the next one', async () => {
    const ends = new WriteEnds();
    ends.ended();
    const later = ends.wait();
    expect(await settled(later)).toBe(false);
    ends.ended();
    expect(await settled(later)).toBe(true);
  });

  it('keeps one promise for all waiters of one end', () => {
    const ends = new WriteEnds();
    expect(ends.wait()).toBe(ends.wait());
  });
});
