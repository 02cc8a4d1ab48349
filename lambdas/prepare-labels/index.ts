// Lambda of the PrepareLabels state: ground truth read, validated and indexed once per run.
import { lambdaHandler } from '../../shared/adapters/aws/lambda-handler.ts';
import { ExecutionInputSchema } from '../../shared/steps/contracts.ts';
import { prepareLabels } from '../../shared/steps/prepare-labels.ts';

export const handler = lambdaHandler('PrepareLabels', ExecutionInputSchema.loose(), prepareLabels);
