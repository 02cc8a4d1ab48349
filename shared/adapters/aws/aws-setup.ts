// The AWS SDK's own words for a process that is not set up for AWS ("Region is missing", "Could
// not load credentials from any providers") name neither the URI nor the fix: say both.
import { AwsSetupError } from '../../domain/errors.ts';

const HOW =
  'AWS credentials and region come from the usual chain: `aws configure` or `aws sso login` (then AWS_PROFILE), or AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION in the environment';

/** An AwsSetupError for an SDK error that means "no region" or "no credentials"; undefined otherwise. */
export function awsSetupError(cause: unknown, what: string): AwsSetupError | undefined {
  const e = (typeof cause === 'object' && cause !== null ? cause : {}) as { name?: string; message?: string };
  const message = e.message ?? '';
  if (/region is missing/i.test(message)) {
    return new AwsSetupError(
      `${what}: no AWS region is configured (the SDK says "${message}"); set one, e.g. export AWS_REGION=us-west-2 (Earth Search's COGs are in us-west-2). ${HOW}`,
      { reason: 'no-region' },
      { cause },
    );
  }
  if (e.name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new AwsSetupError(
      `${what}: no AWS credentials were found (the SDK says "${message}"). ${HOW}`,
      { reason: 'no-credentials' },
      { cause },
    );
  }
  return undefined;
}
