// EnsureOnline: count the selected products that are readable now, and write the offline ones (in a
// long-term archive) as the orders JSONL that the OrderProducts map feeds to the LTA throttle queue.
import type { OrderItem } from '../domain/lta.ts';
import type { StepContext } from '../work/context.ts';
import { requireWork, WorkFiles, writeWorkLines } from '../work/files.ts';
import type { EnsureOnlineOutput, ExecutionInput } from '../workflow/contracts.ts';

export async function ensureOnline(input: ExecutionInput, ctx: StepContext): Promise<EnsureOnlineOutput> {
  const selection = await requireWork(ctx.work, WorkFiles.selection, WorkFiles.selection.key(input.runId));
  const products = Object.values(selection.chosen).flat();
  const offline = products.filter((p) => !p.online);
  if (offline.length === 0) return { online: products.length, offline: 0, ordersKey: null };

  // Sorted by id so that a rerun writes the same file (the map may be redriven from it).
  const items: OrderItem[] = offline
    .map((p) => ({
      runId: input.runId,
      product: { id: p.id, collection: p.collection, tile: p.tile, datetime: p.datetime },
    }))
    .sort((a, b) => (a.product.id < b.product.id ? -1 : a.product.id > b.product.id ? 1 : 0));
  const ordersKey = WorkFiles.orders.key(input.runId);
  await writeWorkLines(ctx.work, WorkFiles.orders, ordersKey, items);
  ctx.log.info('offline products go to the LTA order queue', { offline: offline.length, ordersKey });
  return { online: products.length - offline.length, offline: offline.length, ordersKey };
}
