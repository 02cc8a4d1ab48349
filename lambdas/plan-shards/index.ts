// Lambda of the PlanShards state: the final shards of every split, dealt from the region shards.
// Everything else (schemas, step, grants) is its entry in the task table, shared/workflow/tasks.ts.
import { lambdaTaskHandler } from '../../shared/adapters/aws/lambda-handler.ts';
import { Tasks } from '../../shared/workflow/tasks.ts';

export const handler = lambdaTaskHandler(Tasks.PlanShards);
