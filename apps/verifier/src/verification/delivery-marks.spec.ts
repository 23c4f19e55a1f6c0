import { DeliveryMarks } from './delivery-marks';

describe('DeliveryMarks', () => {
  it('knows a redelivered offset from a new one, per partition', () => {
    const marks = new DeliveryMarks();
    for (const offset of ['0', '1', '2']) marks.counted('t', 0, offset);
    expect(['0', '2', '3'].map((o) => marks.seen('t', 0, o))).toEqual([true, true, false]);
    expect(marks.seen('t', 1, '0')).toBe(false);
    expect(marks.seen('other', 0, '0')).toBe(false);
  });

  it('never moves a mark back', () => {
    const marks = new DeliveryMarks();
    marks.counted('t', 0, '9');
    marks.counted('t', 0, '4');
    expect(marks.seen('t', 0, '9')).toBe(true);
  });

  it('compares offsets as numbers, not text', () => {
    const marks = new DeliveryMarks();
    marks.counted('t', 0, '9');
    expect(marks.seen('t', 0, '10')).toBe(false);
  });
});
