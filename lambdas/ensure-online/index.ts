// Lambda of the EnsureOnline state: every selected product must be readable.
import { lambdaHandler } from '../../shared/adapters/aws/lambda-handler.ts';
import { ensureOnline } from '../../shared/steps/ensure-online.ts';
import { ExecutionInputSchema } from '../../shared/workflow/contracts.ts';

export const handler = lambdaHandler('EnsureOnline', ExecutionInputSchema.loose(), ensureOnline);
