// Lambda of the WriteShard state (inside the WriteShards map): a batch of final shards, streamed.
// Everything else (schemas, step, grants) is its entry in the task table, shared/workflow/tasks.ts.
import { lambdaTaskHandler } from '../../shared/adapters/aws/lambda-handler.ts';
import { Tasks } from '../../shared/workflow/tasks.ts';

export const handler = lambdaTaskHandler(Tasks.WriteShard);
