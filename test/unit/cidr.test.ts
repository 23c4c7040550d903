import { describe, expect, it } from 'vitest';
import { CidrError, contains, firstOverlap, isDefaultRoute, networkOf, normaliseCidrList, overlaps, parseCidr } from '../../lib/cidr';

describe('parseCidr', () => {
  it('accepts IPv4 and IPv6 network addresses and canonicalises them', () => {
    expect(parseCidr('10.1.0.0/24').text).toBe('10.1.0.0/24');
    expect(parseCidr('0.0.0.0/0').text).toBe('0.0.0.0/0');
    expect(parseCidr('2001:db8:0:0::/64').text).toBe('2001:db8::/64');
    expect(parseCidr('fd00::/8').prefix).toBe(8);
  });

  it.each([
    ['10.1.0.5/24', 'not a network address (did you mean 10.1.0.0/24?)'],
    ['10.1.0.0', 'is not a CIDR'],
    ['10.1.0.0/33', 'prefix must be 0..32'],
    ['300.1.0.0/8', 'is not an IP address'],
    ['2001:db8::1/64', 'did you mean 2001:db8::/64?'],
    ['', 'is not a CIDR'],
    ['10.0.0.0/ 8', 'is not a CIDR'],
  ])('refuses %j with a reason', (text, reason) => {
    expect(() => parseCidr(text)).toThrow(CidrError);
    expect(() => parseCidr(text)).toThrow(reason);
  });
});

describe('overlap and containment', () => {
  it('detects overlaps at the edges and not across families', () => {
    expect(overlaps(parseCidr('10.0.0.0/8'), parseCidr('10.255.255.0/24'))).toBe(true);
    expect(overlaps(parseCidr('10.1.0.0/24'), parseCidr('10.1.1.0/24'))).toBe(false);
    expect(overlaps(parseCidr('10.1.0.0/23'), parseCidr('10.1.1.0/24'))).toBe(true);
    expect(overlaps(parseCidr('0.0.0.0/0'), parseCidr('::/0'))).toBe(false);
    expect(overlaps(parseCidr('2001:db8::/32'), parseCidr('2001:db8:ffff::/48'))).toBe(true);
  });

  it('contains only when the inner range lies wholly inside', () => {
    expect(contains(parseCidr('10.0.0.0/16'), parseCidr('10.0.5.0/24'))).toBe(true);
    expect(contains(parseCidr('10.0.5.0/24'), parseCidr('10.0.0.0/16'))).toBe(false);
    expect(contains(parseCidr('10.0.0.0/16'), parseCidr('10.0.0.0/16'))).toBe(true);
  });

  it('finds the first overlapping pair between two lists', () => {
    expect(firstOverlap(['10.1.0.0/24', '10.2.0.0/24'], ['192.168.0.0/16', '10.2.0.128/25'])).toEqual(['10.2.0.0/24', '10.2.0.128/25']);
    expect(firstOverlap(['10.1.0.0/24'], ['10.2.0.0/24'])).toBeUndefined();
  });

  it('refuses a list that overlaps itself', () => {
    expect(() => normaliseCidrList(['10.0.0.0/8', '10.1.0.0/16'])).toThrow('10.0.0.0/8 and 10.1.0.0/16 overlap');
    expect(normaliseCidrList(['10.1.0.0/24', '10.2.0.0/24'])).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
  });
});

describe('addresses that look like networks but are not what they seem', () => {
  it.each([['fe80::%eth0/64'], ['fe80::1%25eth0/128'], ['fe80::%1/64']])('refuses the zone id in %j with a CidrError', (text) => {
    expect(() => parseCidr(text)).toThrow(CidrError);
    expect(() => parseCidr(text)).toThrow(/zone/);
  });

  it('compares IPv4-mapped IPv6 networks (::ffff:0:0/96) as the IPv4 networks they are', () => {
    expect(parseCidr('::ffff:10.1.0.0/120')).toMatchObject({ family: 4, prefix: 24, text: '10.1.0.0/24' });
    expect(parseCidr('::FFFF:a01:0/120').text).toBe('10.1.0.0/24');
    expect(parseCidr('0:0:0:0:0:ffff:10.1.2.3/128').text).toBe('10.1.2.3/32');
    expect(parseCidr('::ffff:0.0.0.0/96').text).toBe('0.0.0.0/0');
    expect(() => parseCidr('::ffff:10.1.0.5/120')).toThrow('did you mean 10.1.0.0/24?');
    // Wider than the mapped block: an IPv6 network, kept as such.
    expect(parseCidr('::/80').family).toBe(6);
    // Whatever was stored, an overlap with the IPv4 form is seen.
    expect(firstOverlap(['::ffff:10.1.0.0/120'], ['10.1.0.0/24'])).toEqual(['::ffff:10.1.0.0/120', '10.1.0.0/24']);
    expect(overlaps(parseCidr('::ffff:10.1.0.128/121'), parseCidr('10.1.0.0/24'))).toBe(true);
  });

  it('refuses them in a list an operator typed, with the IPv4 form to write instead', () => {
    expect(() => normaliseCidrList(['::ffff:10.1.0.0/120'])).toThrow(CidrError);
    expect(() => normaliseCidrList(['10.2.0.0/24', '::ffff:10.1.0.0/120'])).toThrow('"::ffff:10.1.0.0/120" is an IPv4-mapped IPv6 network; write it as 10.1.0.0/24');
    expect(() => normaliseCidrList(['::ffff:0:0/96'])).toThrow('write it as 0.0.0.0/0');
    expect(normaliseCidrList(['fd00::/8', '10.2.0.0/24'])).toEqual(['fd00::/8', '10.2.0.0/24']);
  });

  it('tells default routes apart', () => {
    expect(isDefaultRoute(parseCidr('0.0.0.0/0'))).toBe(true);
    expect(isDefaultRoute(parseCidr('::/0'))).toBe(true);
    expect(isDefaultRoute(parseCidr('::ffff:0.0.0.0/96'))).toBe(true);
    expect(isDefaultRoute(parseCidr('0.0.0.0/1'))).toBe(false);
    expect(isDefaultRoute(parseCidr('::/1'))).toBe(false);
  });

  it('gives the network an address belongs to', () => {
    expect(networkOf('2001:db8:1:2:3:4:5:6', 64)).toBe('2001:db8:1:2::/64');
    expect(networkOf('10.1.2.3', 32)).toBe('10.1.2.3/32');
    expect(networkOf('::ffff:10.1.2.3', 64)).toBe('10.1.2.3/32');
    expect(() => networkOf('nope', 32)).toThrow(CidrError);
  });

  it('refuses absurdly long input without trying to parse it', () => {
    expect(() => parseCidr(`${'1'.repeat(100_000)}/8`)).toThrow(CidrError);
  });
});
