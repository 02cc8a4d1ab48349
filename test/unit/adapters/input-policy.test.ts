// What a deployed run may name, judged from the URI alone (before any read): one test per rule.
// Host names and redirects, which need a resolver and a server, are in
// test/integration/input-policy.test.ts.
import { describe, expect, it } from 'vitest';
import {
  checkInputUri,
  deployedInputPolicy,
  INPUT_POLICY_ENV,
  inputPolicyEnvironment,
  inputPolicyFromEnv,
  LOCAL_INPUT_POLICY,
} from '../../../shared/adapters/input-policy.ts';
import { InputRefusedError, InvalidInputError } from '../../../shared/domain/errors.ts';

const deployed = deployedInputPolicy({ allowHttp: false, allowNetworks: [] });
const refused = (uri: string, policy = deployed) => {
  try {
    checkInputUri(policy, uri, 'labels.source');
  } catch (error) {
    expect(error).toBeInstanceOf(InputRefusedError);
    return (error as Error).message;
  }
  return undefined;
};

describe('a deployed run', () => {
  it('refuses file:// URIs', () => {
    expect(refused('file:///proc/self/environ')).toBe(
      'labels.source file:///proc/self/environ: a deployed run does not read local files or paths; put the file on S3 and give its s3:// URI',
    );
  });

  it('refuses plain paths, absolute or relative', () => {
    expect(refused('/proc/self/environ')).toMatch(/does not read local files or paths/);
    expect(refused('parcels.geojson')).toMatch(/does not read local files or paths/);
    expect(refused('C:\\labels\\parcels.geojson')).toMatch(/does not read local files or paths/);
  });

  it('reads s3:// and https:// on public hosts', () => {
    expect(refused('s3://bucket/labels/parcels.geojson')).toBeUndefined();
    expect(refused('https://earth-search.aws.element84.com/v1')).toBeUndefined();
    expect(refused('https://52.92.1.1/cog.tif')).toBeUndefined();
  });

  it('refuses plain http unless the stage allows it', () => {
    expect(refused('http://example.com/catalog.json')).toMatch(/reads only https:\/\/ and s3:\/\/ inputs/);
    const http = deployedInputPolicy({ allowHttp: true, allowNetworks: [] });
    expect(refused('http://example.com/catalog.json', http)).toBeUndefined();
  });

  it('refuses loopback addresses, however they are spelled', () => {
    for (const uri of [
      'https://127.0.0.1/x',
      'https://[::1]:9001/2018-06-01/runtime/invocation/next',
      'https://2130706433/x', // the URL parser reads it as 127.0.0.1
      'https://0x7f.0.0.1/x',
      'https://[::ffff:127.0.0.1]/x',
    ]) {
      expect(refused(uri), uri).toMatch(/is a loopback \(.*\) address, which a deployed run does not reach/);
    }
  });

  it('refuses link-local addresses: the instance metadata endpoint', () => {
    expect(refused('https://169.254.169.254/latest/meta-data/iam/security-credentials/')).toBe(
      'labels.source https://169.254.169.254/latest/meta-data/iam/security-credentials/: 169.254.169.254 is a link-local (169.254.0.0/16: the instance metadata endpoint) address, which a deployed run does not reach; allow the range in the stage config (inputs.allowNetworks) if it is meant',
    );
    expect(refused('https://[fe80::1]/x')).toMatch(/link-local/);
  });

  it('refuses private addresses unless the stage config allows their range', () => {
    for (const uri of [
      'https://10.0.0.5/x',
      'https://172.20.1.1/x',
      'https://192.168.0.10/x',
      'https://[fd00:ec2::254]/x',
    ]) {
      expect(refused(uri), uri).toMatch(/is a private \(.*\) address/);
    }
    const vpc = deployedInputPolicy({ allowHttp: false, allowNetworks: ['10.1.0.0/16'] });
    expect(refused('https://10.1.2.3/stac', vpc)).toBeUndefined();
    expect(refused('https://10.2.0.1/stac', vpc)).toMatch(/private/);
  });
});

describe('the local CLI', () => {
  it('reads what its user names: local files, plain http, any address', () => {
    for (const uri of [
      '/proc/self/environ',
      'file:///srv/x',
      'http://127.0.0.1:8080/x',
      'https://10.0.0.1/x',
    ]) {
      expect(refused(uri, LOCAL_INPUT_POLICY), uri).toBeUndefined();
    }
  });
});

describe('the policy from the environment', () => {
  it('is strict when nothing is set, and reads what the stage config wrote', () => {
    const strict = inputPolicyFromEnv({});
    expect(strict).toMatchObject({ localFiles: false, plainHttp: false, anyAddress: false, allowed: [] });
    const env = inputPolicyEnvironment({ allowHttp: true, allowNetworks: ['10.1.0.0/16', 'fd00::/8'] });
    expect(env).toEqual({
      [INPUT_POLICY_ENV.allowHttp]: 'true',
      [INPUT_POLICY_ENV.allowNetworks]: '10.1.0.0/16,fd00::/8',
    });
    const policy = inputPolicyFromEnv(env);
    expect(policy.plainHttp).toBe(true);
    expect(policy.allowed.map((r) => r.text)).toEqual(['10.1.0.0/16', 'fd00::/8']);
  });

  it('names a malformed variable', () => {
    expect(() => inputPolicyFromEnv({ [INPUT_POLICY_ENV.allowHttp]: 'yes' })).toThrow(
      /SATFACTORY_INPUTS_ALLOW_HTTP is "yes", not true or false/,
    );
    expect(() => inputPolicyFromEnv({ [INPUT_POLICY_ENV.allowNetworks]: '10.0.0.0/8,nope' })).toThrow(
      InvalidInputError,
    );
  });
});
