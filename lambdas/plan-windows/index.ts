// Lambda of the PlanWindows state: window grid, regions and the regions JSONL for the map.
import { lambdaHandler } from '../../shared/adapters/aws/lambda-handler.ts';
import { planWindows } from '../../shared/steps/plan-windows.ts';
import { ExecutionInputSchema } from '../../shared/workflow/contracts.ts';

export const handler = lambdaHandler('PlanWindows', ExecutionInputSchema.loose(), planWindows);
