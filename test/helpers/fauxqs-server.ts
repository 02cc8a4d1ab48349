// fauxqs (an S3 + SQS emulator, in-process on 127.0.0.1, random port) for the integration tests of
// the AWS adapters. It needs Node 22.5+: where it cannot start, the caller skips with the reason
// (with CI=true, startFauxqsForTests throws instead).
import { skipOrFail } from './requirements.ts';

export type FauxqsServer = { address: string; stop(): Promise<void> };

/** Static credentials and a region: fauxqs accepts any, the SDK insists on some. */
export const FAUXQS_CLIENT = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
} as const;

export async function startFauxqsForTests(
  what: string,
): Promise<{ server: FauxqsServer | undefined; skipReason: string }> {
  try {
    const { startFauxqs } = await import('fauxqs');
    return { server: await startFauxqs({ port: 0, host: '127.0.0.1', logger: false }), skipReason: '' };
  } catch (error) {
    const skipReason = `fauxqs for ${what}, which could not start: ${(error as Error).message}`;
    skipOrFail(skipReason);
    return { server: undefined, skipReason };
  }
}
