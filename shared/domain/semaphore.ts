// A counting semaphore: at most `limit` holders at once, served in arrival order. Bounds the open
// connections of a client that many callers share (CDSE answers a 5th concurrent connection with 429).

export class Semaphore {
  readonly limit: number;
  #held = 0;
  readonly #queue: Array<() => void> = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`semaphore limit must be >= 1, got ${limit}`);
    this.limit = limit;
  }

  get held(): number {
    return this.#held;
  }

  async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.#held >= this.limit) {
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else {
      this.#held += 1;
    }
    try {
      return await work();
    } finally {
      // Hand the permit straight to the next waiter, so a newcomer cannot overtake it.
      const next = this.#queue.shift();
      if (next) next();
      else this.#held -= 1;
    }
  }
}
