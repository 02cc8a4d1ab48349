// Lambda of the EnsureOnline state: every selected product must be readable.
import { lambdaHandler } from '../../shared/adapters/aws/lambda-handler.ts';
import { ExecutionInputSchema } from '../../shared/steps/contracts.ts';
import { ensureOnline } from '../../shared/steps/ensure-online.ts';

export const handler = lambdaHandler('EnsureOnline', ExecutionInputSchema.loose(), ensureOnline);
