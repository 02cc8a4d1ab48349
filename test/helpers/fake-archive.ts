// An in-memory long-term archive for unit tests: products come online `restoreSeconds` after their
// order, on the injected clock; every order() is recorded so a test can count duplicates. A test can
// send a restored product back offline (evict) and make the archive forget its orders (purge).
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
  /** When each product was last evicted: restores done before then no longer count. */
  readonly #evictedAt = new Map<string, number>();
  /** Orders the archive no longer knows (still counted in `orders`). */
  readonly #purged = new Set<string>();
  /** Orders that ended failed. */
  readonly #failed = new Set<string>();

  constructor(options: { clock: Clock; offline: string[]; restoreSeconds?: number }) {
    this.#clock = options.clock;
    this.#offline = new Set(options.offline);
    this.#restoreMs = (options.restoreSeconds ?? 1200) * 1000;
  }

  ordersOf(productId: string): number {
    return this.orders.filter((o) => o.productId === productId).length;
  }

  /** The product goes back to the long-term archive: offline until ordered again. */
  evict(productId: string): void {
    this.#evictedAt.set(productId, this.#clock.now().getTime());
  }

  /** The archive forgets the product's orders, as CDSE purges old ones. */
  purge(productId: string): void {
    for (const o of this.orders) if (o.productId === productId) this.#purged.add(o.orderId);
  }

  /** The product's latest order ends failed (the restore went wrong at the archive). */
  failLatest(productId: string): void {
    const order = this.orders.filter((o) => o.productId === productId).at(-1);
    if (order) this.#failed.add(order.orderId);
  }

  async availability(productId: string): Promise<ArchiveAvailability> {
    if (!this.#offline.has(productId)) return 'unknown';
    const now = this.#clock.now().getTime();
    const evictedAt = this.#evictedAt.get(productId) ?? Number.NEGATIVE_INFINITY;
    const restored = this.orders.some(
      (o) =>
        o.productId === productId &&
        !this.#failed.has(o.orderId) &&
        o.readyAt <= now &&
        o.readyAt > evictedAt,
    );
    return restored ? 'online' : 'offline';
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
    const known = this.orders.filter((o) => !this.#purged.has(o.orderId));
    const order = orderId
      ? known.find((o) => o.orderId === orderId)
      : known.filter((o) => o.productId === productId).at(-1);
    if (!order) return { state: 'none' };
    if (this.#failed.has(order.orderId))
      return { state: 'failed', orderId: order.orderId, detail: 'restore failed' };
    const state = order.readyAt <= this.#clock.now().getTime() ? 'online' : 'pending';
    return { state, orderId: order.orderId };
  }
}
