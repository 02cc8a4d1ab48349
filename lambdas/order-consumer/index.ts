// Lambda of the LTA order queue (SQS event source, batch size 1, ReportBatchItemFailures): orders
// offline products within the archive quota and answers the waiting OrderProduct states.
import {
  consumeOrders,
  orderConsumerPorts,
  type SqsEvent,
} from '../../shared/adapters/aws/order-consumer.ts';

export const handler = async (event: SqsEvent) => consumeOrders(event, await orderConsumerPorts());
