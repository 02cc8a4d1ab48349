// An in-memory long-term archive for unit tests: products come online `restoreSeconds` after their
// order, on the injected clock; every order() is recorded so a test can count duplicates.
import { HttpStatusError } from '../../shared/domain/errors.ts';
import { OrderRejectedError } from '../../shared/domain/lta.ts';
import type { ArchiveAvailability, ArchiveOrderStatus, ArchiveOrders, Clock } from '../../shared/ports.ts';

export type FakeOrder = { orderId: string; productId: string; orderedAt: number; readyAt: number };

export class FakeArchive implements ArchiveOrders {
  readonly description = 'fake archive';
  readonly orders: FakeOrder[] = [];
  /** Next order() calls of a product fail like this, then the list is consumed. */
  readonly failNext = new Map<string, Array<'429' | 'reject' | 'ambiguous-after-order'>>();
  readonly #clock: Clock;
  readonly #offline: Set<string>;
  readonly #restoreMs: number;

  constructor(options: { clock: Clock; offline: string[]; restoreSeconds?: number }) {
    this.#clock = options.clock;
    this.#offline = new Set(options.offline);
    this.#restoreMs = (options.restoreSeconds ?? 1200) * 1000;
  }

  ordersOf(productId: string): number {
    return this.orders.filter((o) => o.productId === productId).length;
  }

  async availability(productId: string): Promise<ArchiveAvailability> {
    if (!this.#offline.has(productId)) return 'unknown';
    const status = await this.status(productId);
    return status.state === 'online' ? 'online' : 'offline';
  }

  async order(productId: string): Promise<{ orderId: string }> {
    const failure = this.failNext.get(productId)?.shift();
    if (failure === '429') throw new HttpStatusError('fake://order', 429, 'quota', 120_000);
    if (failure === 'reject') throw new OrderRejectedError(`rejected ${productId}`);
    const now = this.#clock.now().getTime();
    const order = {
      orderId: `o-${this.orders.length + 1}`,
      productId,
      orderedAt: now,
      readyAt: now + this.#restoreMs,
    };
    this.orders.push(order);
    if (failure === 'ambiguous-after-order') throw new Error('connection reset after the order was placed');
    return { orderId: order.orderId };
  }

  async status(productId: string, orderId?: string): Promise<ArchiveOrderStatus> {
    const order = orderId
      ? this.orders.find((o) => o.orderId === orderId)
      : this.orders.filter((o) => o.productId === productId).at(-1);
    if (!order) return { state: 'none' };
    const state = order.readyAt <= this.#clock.now().getTime() ? 'online' : 'pending';
    return { state, orderId: order.orderId };
  }
}
