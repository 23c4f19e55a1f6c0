import { backoffDelay } from './backoff';

describe('backoffDelay', () => {
  it('doubles per attempt between half and all of the ceiling', () => {
    expect(backoffDelay(1, 100, 10000, () => 0)).toBe(50);
    expect(backoffDelay(1, 100, 10000, () => 1)).toBe(100);
    expect(backoffDelay(4, 100, 10000, () => 1)).toBe(800);
    expect(backoffDelay(4, 100, 10000, () => 0)).toBe(400);
  });

  it('never exceeds the maximum however many attempts failed', () => {
    expect(backoffDelay(60, 100, 5000, () => 1)).toBe(5000);
  });
});
