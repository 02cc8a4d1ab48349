// Lambda of the Commit state: accounting checks, statistics, and manifest.json written last.
import { lambdaHandler } from '../../shared/adapters/aws/lambda-handler.ts';
import { commit } from '../../shared/steps/commit.ts';
import { ExecutionInputSchema } from '../../shared/workflow/contracts.ts';

export const handler = lambdaHandler('Commit', ExecutionInputSchema.loose(), commit);
