// Runs one Task state's step the same way on Lambda and locally: parse the event with the task's
// schema, give the step a context that can touch only what the task table declares, and check the
// result against the output schema before it flows into the execution state.
import { IntegrityError, InvalidInputError } from '../domain/errors.ts';
import { AccessCheckedStore } from '../work/access-checked-store.ts';
import type { StepContext } from '../work/context.ts';
import { type LambdaTask, type TaskAccess, workPatterns } from './tasks.ts';

/** `ctx` may be a factory: it is called only once the event is known to be readable. */
export async function runTask<I, O>(
  task: LambdaTask<I, O>,
  event: unknown,
  ctx: StepContext | (() => StepContext),
): Promise<O> {
  const parsed = task.input.safeParse(event);
  if (!parsed.success) {
    throw new InvalidInputError(`${task.state} received an event it cannot read: ${parsed.error.message}`, {
      state: task.state,
    });
  }
  const ports = typeof ctx === 'function' ? ctx() : ctx;
  const result = await task.run(parsed.data, scopedContext(ports, task.state, task.access));
  const checked = task.output.safeParse(result);
  if (!checked.success) {
    // A bug in the step: its result would travel on into the execution state unchecked.
    throw new IntegrityError(
      `${task.state} returned a result that is not its output: ${checked.error.message}`,
      {
        state: task.state,
      },
    );
  }
  return checked.data;
}

/** The context a task's step sees: its work store and every store it writes checked against its access. */
export function scopedContext(ctx: StepContext, state: string, access: TaskAccess): StepContext {
  const work = new AccessCheckedStore(ctx.work, workPatterns(access), state);
  // Other stores: the dataset (writes checked) and inputs such as a label file (read anywhere).
  const dataset = { read: ['*'], write: [...access.dataset.writes] };
  return {
    ...ctx,
    work,
    openStore: (uri) => new AccessCheckedStore(ctx.openStore(uri), dataset, state),
  };
}
