// Lambda of the ExtractRegion state: one ItemBatcher batch of regions from the Distributed Map.
import { lambdaHandler } from '../../shared/adapters/aws/lambda-handler.ts';
import { extractBatch } from '../../shared/steps/extract-region.ts';
import { ExtractBatchEventSchema } from '../../shared/workflow/contracts.ts';

export const handler = lambdaHandler('ExtractRegion', ExtractBatchEventSchema, extractBatch);
