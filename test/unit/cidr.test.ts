import { describe, expect, it } from 'vitest';
import { CidrError, contains, firstOverlap, normaliseCidrList, overlaps, parseCidr } from '../../lib/cidr';

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
