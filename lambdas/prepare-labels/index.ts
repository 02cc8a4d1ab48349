// Lambda of the PrepareLabels state: ground truth read, validated and indexed once per run.
import { lambdaHandler } from '../../shared/adapters/aws/lambda-handler.ts';
import { prepareLabels } from '../../shared/steps/prepare-labels.ts';
import { ExecutionInputSchema } from '../../shared/workflow/contracts.ts';

export const handler = lambdaHandler('PrepareLabels', ExecutionInputSchema.loose(), prepareLabels);
