// EnsureOnline: every selected product must be readable now. Products in a long-term archive need
// an order through the LTA throttle, which only the deployed stack has so far: say so plainly.
import { InvalidInputError } from '../domain/errors.ts';
import { workKeys } from '../domain/plan.ts';
import { requireJson, type StepContext } from './context.ts';
import type { EnsureOnlineOutput, ExecutionInput } from './contracts.ts';
import type { StoredSelection } from './plan.ts';

export async function ensureOnline(input: ExecutionInput, ctx: StepContext): Promise<EnsureOnlineOutput> {
  const selection = await requireJson<StoredSelection>(
    ctx.work,
    workKeys.selection(input.runId),
    'the selection',
  );
  const products = Object.values(selection.chosen).flat();
  const offline = products.filter((p) => !p.online);
  if (offline.length > 0) {
    throw new InvalidInputError(
      `${offline.length} selected product(s) are offline (${offline
        .slice(0, 3)
        .map((p) => p.id)
        .join(
          ', ',
        )}${offline.length > 3 ? ', ...' : ''}); ordering from a long-term archive is not available in this version: choose an online catalog such as Earth Search`,
      { source: selection.catalog.description },
    );
  }
  return { online: products.length, ordered: 0 };
}
