/**
 * Wakes whoever waits for the next of many writes to end, with one promise for all of them. A
 * `Promise.race` over the writes in flight would leave a callback on every write each time it is
 * called; a waiter that races hundreds of queued writes after each one ends makes that quadratic.
 */
export class WriteEnds {
  private next?: { readonly promise: Promise<void>; readonly resolve: () => void };

  /** Settles when `ended()` is next called. */
  wait(): Promise<void> {
    if (!this.next) {
      let resolve: () => void = () => undefined;
      const promise = new Promise<void>((settle) => (resolve = settle));
      this.next = { promise, resolve };
    }
    return this.next.promise;
  }

  /** A write ended: every waiter wakes, and later waits wait for the write after it. */
  ended(): void {
    const next = this.next;
    this.next = undefined;
    next?.resolve();
  }
}
