// Least-privilege S3 grants: object actions on key patterns only, never `s3:*` or whole-bucket
// object wildcards unless the pattern asks for it.
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';

export type ObjectAccess = {
  /** Key patterns (`runs/*`) the grantee may GET (and HEAD). */
  readonly read?: readonly string[];
  /** Key patterns the grantee may PUT (conditional create-only PUTs included). */
  readonly write?: readonly string[];
};

/**
 * Grants GetObject/PutObject on the given key patterns. A reader also gets ListBucket on the bucket:
 * without it S3 answers 403 instead of 404 for a missing key, and the blob store's "not there yet"
 * (getJson, exists, HEAD before a create-only PUT) would turn into an access error. ListBucket has
 * no prefix condition because S3 checks it for a missing-key GET without any s3:prefix in context.
 */
export function grantObjects(grantee: iam.IGrantable, bucket: s3.IBucket, access: ObjectAccess): void {
  const add = (statement: iam.PolicyStatement) => grantee.grantPrincipal.addToPrincipalPolicy(statement);
  const read = access.read ?? [];
  const write = access.write ?? [];
  if (read.length > 0) {
    add(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: read.map((pattern) => bucket.arnForObjects(pattern)),
      }),
    );
  }
  if (write.length > 0) {
    add(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: write.map((pattern) => bucket.arnForObjects(pattern)),
      }),
    );
  }
  if (read.length > 0) {
    add(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
  }
}
