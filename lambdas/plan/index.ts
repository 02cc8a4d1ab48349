// Lambda of the Plan state: catalog search and product selection.
import { lambdaHandler } from '../../shared/adapters/aws/lambda-handler.ts';
import { plan } from '../../shared/steps/plan.ts';
import { ExecutionInputSchema } from '../../shared/workflow/contracts.ts';

export const handler = lambdaHandler('Plan', ExecutionInputSchema.loose(), plan);
