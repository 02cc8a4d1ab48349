// The address space a deployed run may not reach, address by address: each range of the rule, the
// IPv6 spellings that carry an IPv4 address, and public addresses that must stay reachable.
import { describe, expect, it } from 'vitest';
import { type IpRange, nonPublicKind, parseCidr, parseIp } from '../../../shared/domain/ip-ranges.ts';

describe('nonPublicKind', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['169.254.170.2', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['10.0.0.5', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'private'],
    ['fd00:ec2::254', 'private'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['100.64.0.1', 'shared'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    // IPv4 inside IPv6: mapped, NAT64, 6to4, the deprecated compatible form.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:a9fe:a9fe::1', 'link-local'],
    ['2002:0a00:0001::', 'private'],
    ['::127.0.0.1', 'reserved'],
    ['[::1]', 'loopback'],
    ['fe80::1%eth0', 'link-local'],
  ])('%s is %s', (address, kind) => {
    expect(nonPublicKind(address)).toMatch(new RegExp(`^${kind}`));
  });

  it.each([
    '8.8.8.8',
    '52.92.1.1',
    '172.32.0.1',
    '172.15.255.255',
    '169.253.255.255',
    '100.128.0.1',
    '2600:1f18::1',
    '64:ff9b::808:808',
    '2002:0808:0808::1',
    '::ffff:8.8.8.8',
  ])('%s is public', (address) => {
    expect(nonPublicKind(address)).toBeUndefined();
  });

  it('lets the allowed ranges through, and nothing next to them', () => {
    const allowed = [parseCidr('10.1.0.0/16'), parseCidr('fd12::/16'), parseCidr('127.0.0.1')] as IpRange[];
    expect(nonPublicKind('10.1.200.3', allowed)).toBeUndefined();
    expect(nonPublicKind('::ffff:10.1.0.9', allowed)).toBeUndefined();
    expect(nonPublicKind('10.2.0.1', allowed)).toMatch(/^private \(10\.0\.0\.0\/8\)/);
    expect(nonPublicKind('fd12:1::5', allowed)).toBeUndefined();
    expect(nonPublicKind('127.0.0.1', allowed)).toBeUndefined();
    expect(nonPublicKind('127.0.0.2', allowed)).toMatch(/^loopback/);
    expect(nonPublicKind('169.254.169.254', allowed)).toMatch(/^link-local/);
  });

  it('refuses what is not an address', () => {
    expect(nonPublicKind('example.com')).toMatch(/not an IP address/);
  });
});

describe('parseIp and parseCidr', () => {
  it('read the usual spellings and refuse the rest', () => {
    expect(parseIp('1.2.3.4')?.v4).toBe(true);
    expect(parseIp('2001:db8::1')?.v4).toBe(false);
    expect(parseIp('1:2:3:4:5:6:7:8')).toBeDefined();
    for (const bad of ['1.2.3', '1.2.3.256', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '', 'localhost']) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
    expect(parseCidr('10.0.0.0/8')?.prefix).toBe(104);
    expect(parseCidr('::/0')?.prefix).toBe(0);
    for (const bad of ['10.0.0.0/33', '10.0.0.0/-1', '::/129', '10.0.0.0/8/1', 'ten/8', '10.0.0.0/x']) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });
});
