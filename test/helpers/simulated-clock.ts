// A clock whose time moves only when someone sleeps on it: a sleep advances it at once by its own
// length. With one sleeper (the in-process order queue), that is a discrete-event simulation, so
// hours of archive quota run in milliseconds.
import type { Clock } from '../../shared/ports.ts';

export class SimulatedClock implements Clock {
  #now: number;

  constructor(start = '2026-01-01T00:00:00Z') {
    this.#now = Date.parse(start);
  }

  now(): Date {
    return new Date(this.#now);
  }

  async sleep(ms: number): Promise<void> {
    this.#now += Math.max(0, ms);
    // Yield to the event loop, as a real timer does, so that other work can run in between.
    await new Promise((resolve) => setImmediate(resolve));
  }

  advance(ms: number): void {
    this.#now += ms;
  }
}
