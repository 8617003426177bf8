import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { ValidationError } from '../../../src/errors.js'
import { INDICATOR_TYPES, type IndicatorType } from '../../../src/records/indicator-types.js'
import { REFANG_MAX_PASSES, containingCidrs, detectType, ipFamily, normalizeValue, refang, sameAddressForms } from '../../../src/records/normalize.js'

const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e'
const EMPTY_SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709'
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
const EMPTY_SHA512 = 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e'

const VALID: Array<[IndicatorType, string, string]> = [
  // ipv4
  ['ipv4', '192.0.2.1', '192.0.2.1'],
  ['ipv4', '  203.0.113.7 \n', '203.0.113.7'],
  ['ipv4', '010.000.000.001', '10.0.0.1'],
  ['ipv4', '08.09.001.255', '8.9.1.255'],
  ['ipv4', '1[.]2[.]3[.]4', '1.2.3.4'],
  ['ipv4', '1(.)2{.}3[dot]4', '1.2.3.4'],
  ['ipv4', '1\\.2\\.3\\.4', '1.2.3.4'],
  ['ipv4', '0.0.0.0', '0.0.0.0'],
  ['ipv4', '255.255.255.255', '255.255.255.255'],
  // ipv6
  ['ipv6', '2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
  ['ipv6', '2001:db8::1', '2001:db8::1'],
  ['ipv6', '2001:DB8::ABCD', '2001:db8::abcd'],
  ['ipv6', '[2001:db8::1]', '2001:db8::1'],
  ['ipv6', '2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ['ipv6', '2001:db8:0000:1:0:0:0:1', '2001:db8:0:1::1'],
  ['ipv6', '0001:0002:0003:0004:0005:0006:0007:0008', '1:2:3:4:5:6:7:8'],
  ['ipv6', '::', '::'],
  ['ipv6', '::1', '::1'],
  ['ipv6', '[::]', '::'],
  ['ipv6', '::ffff:1.2.3.4', '::ffff:102:304'], // ipaddr.js RFC 5952 output: hex, not mixed notation
  ['ipv6', '::FFFF:0102:0304', '::ffff:102:304'],
  ['ipv6', '2001:db8::010.0.0.1', '2001:db8::a00:1'],
  // cidr
  ['cidr', '10.1.2.3/8', '10.0.0.0/8'],
  ['cidr', '192.168.1.77/24', '192.168.1.0/24'],
  ['cidr', '203.0.113.7/32', '203.0.113.7/32'],
  ['cidr', '203.0.113.7/0', '0.0.0.0/0'],
  ['cidr', '172.31.255.255/12', '172.16.0.0/12'],
  ['cidr', '010.1.2.3/08', '10.0.0.0/8'],
  ['cidr', '10[.]1[.]2[.]3/16', '10.1.0.0/16'],
  ['cidr', '2001:DB8:ABCD:1234::1/32', '2001:db8::/32'],
  ['cidr', '2001:db8:abcd::1/33', '2001:db8:8000::/33'],
  ['cidr', '2001:db8::1/128', '2001:db8::1/128'],
  ['cidr', '[2001:db8::1]/64', '2001:db8::/64'],
  ['cidr', '::/0', '::/0'],
  // domain
  ['domain', 'example.com', 'example.com'],
  ['domain', 'Evil.EXAMPLE.com', 'evil.example.com'],
  ['domain', 'example.com.', 'example.com'],
  ['domain', 'evil[.]example', 'evil.example'],
  ['domain', 'evil(.)example', 'evil.example'],
  ['domain', 'evil [dot] example', 'evil.example'],
  ['domain', 'Bücher.example', 'xn--bcher-kva.example'],
  ['domain', 'straße.de', 'xn--strae-oqa.de'],
  ['domain', 'пример.рф', 'xn--e1afmkfd.xn--p1ai'],
  ['domain', 'ПРИМЕР.РФ.', 'xn--e1afmkfd.xn--p1ai'],
  ['domain', 'XN--BCHER-KVA.example', 'xn--bcher-kva.example'],
  ['domain', 'example。com', 'example.com'],
  ['domain', 'evil[。]example', 'evil.example'],
  ['domain', '_dmarc.example.com', '_dmarc.example.com'],
  ['domain', 'a-b--c.example', 'a-b--c.example'],
  ['domain', '999.example', '999.example'],
  // url
  ['url', 'HTTP://EVIL.Example/Path', 'http://evil.example/Path'],
  ['url', 'http://evil.example:80/', 'http://evil.example/'],
  ['url', 'https://evil.example:443/a', 'https://evil.example/a'],
  ['url', 'https://evil.example:8443/a', 'https://evil.example:8443/a'],
  ['url', 'http://evil.example:443/', 'http://evil.example:443/'],
  ['url', 'hxxp://evil[.]example/x', 'http://evil.example/x'],
  ['url', 'hXXps[:]//Evil[.]Example:443/A?B=C#D', 'https://evil.example/A?B=C#D'],
  ['url', 'hxxps[://]evil[.]example[/]dl', 'https://evil.example/dl'],
  ['url', 'fxp://files.example/a.exe', 'ftp://files.example/a.exe'],
  ['url', 'meow://evil.example', 'http://evil.example/'],
  ['url', 'evil.example/Path/To?Q=1', 'http://evil.example/Path/To?Q=1'],
  ['url', 'evil.example:8080/x', 'http://evil.example:8080/x'],
  ['url', '//evil.example/x', 'http://evil.example/x'],
  ['url', 'http://Bücher.example/Straße', 'http://xn--bcher-kva.example/Stra%C3%9Fe'],
  ['url', 'http://evil.example', 'http://evil.example/'],
  ['url', 'http://evil(。)example/x', 'http://evil.example/x'],
  ['url', 'ftp://files.example:21/', 'ftp://files.example/'],
  ['url', 'FTPS://Bücher.Example:990', 'ftps://xn--bcher-kva.example/'],
  ['url', 'ftps://files.example:21/x', 'ftps://files.example:21/x'],
  ['url', 'WSS://Stream.Example:443/live', 'wss://stream.example/live'],
  ['url', 'http://[2001:DB8::1]:8080/a', 'http://[2001:db8::1]:8080/a'],
  ['url', 'http://user:Secret@Evil.example/', 'http://user:Secret@evil.example/'],
  // email
  ['email', 'Alice@Example.COM', 'alice@example.com'],
  ['email', 'alice[@]evil[.]example', 'alice@evil.example'],
  ['email', 'alice [at] evil [dot] example', 'alice@evil.example'],
  ['email', 'bob(at)evil(.)example', 'bob@evil.example'],
  ['email', 'Bob@Bücher.example', 'bob@xn--bcher-kva.example'],
  ['email', 'first.last+tag@example.com.', 'first.last+tag@example.com'],
  // hashes
  ['md5', 'D41D8CD98F00B204E9800998ECF8427E', EMPTY_MD5],
  ['md5', ' d41d8cd9 8f00b204 e9800998 ecf8427e ', EMPTY_MD5],
  ['sha1', 'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709', EMPTY_SHA1],
  ['sha256', EMPTY_SHA256.toUpperCase(), EMPTY_SHA256],
  ['sha256', EMPTY_SHA256.replace(/(.{8})/g, '$1\n'), EMPTY_SHA256],
  ['sha512', EMPTY_SHA512.toUpperCase(), EMPTY_SHA512],
  ['ja3', 'E7D705A3286E19EA42F587B344EE6865', 'e7d705a3286e19ea42f587b344ee6865'],
  // cve
  ['cve', 'cve-2021-44228', 'CVE-2021-44228'],
  ['cve', 'CVE-1999-0001', 'CVE-1999-0001'],
  ['cve', 'Cve-2024-1234567', 'CVE-2024-1234567'],
  // asn
  ['asn', 'AS13335', 'AS13335'],
  ['asn', 'as13335', 'AS13335'],
  ['asn', 'AS 13335', 'AS13335'],
  ['asn', '13335', 'AS13335'],
  ['asn', 'AS0', 'AS0'],
  ['asn', '4294967295', 'AS4294967295'],
  ['asn', 'AS013335', 'AS13335']
]

const INVALID: Array<[IndicatorType, string, string]> = [
  ['ipv4', '', 'empty'],
  ['ipv4', '   ', 'empty'],
  ['ipv4', '1.2.3', 'four decimal parts'],
  ['ipv4', '0x7f.1', 'hex, octal'],
  ['ipv4', '0x7f.0.0.1', 'four decimal parts'],
  ['ipv4', '1.2.3.256', 'over 255'],
  ['ipv4', '1.2.3.4.5', 'four decimal parts'],
  ['ipv4', '1.2.3.4/32', 'use type cidr'],
  ['ipv4', '2001:db8::1', 'IPv6'],
  ['ipv4', 'evil.example', 'not an IPv4 address'],
  ['ipv6', 'fe80::1%eth0', 'zone id'],
  ['ipv6', '1.2.3.4', 'use type ipv4'],
  ['ipv6', '2001:db8::1::2', 'not an IPv6 address'],
  ['ipv6', '2001:db8::g', 'not an IPv6 address'],
  ['ipv6', '::ffff:0x7f.0.0.1', 'embedded IPv4'],
  ['ipv6', '[2001:db8::1]:443', 'not an IPv6 address'],
  ['cidr', '10.0.0.0', 'missing prefix length'],
  ['cidr', '10.0.0.0/', 'missing prefix length'],
  ['cidr', '10.0.0.0/33', '0–32'],
  ['cidr', '2001:db8::/129', '0–128'],
  ['cidr', '10.0.0.0/x', 'invalid prefix length'],
  ['cidr', '10.0.0.0/8/9', 'more than one /'],
  ['cidr', '10.0.0/8', 'invalid CIDR network address'],
  ['domain', 'localhost', 'at least two labels'],
  ['domain', '1.2.3.4', 'looks like an IP address'],
  ['domain', 'a..example', 'empty label'],
  ['domain', 'example.com..', 'empty label'],
  ['domain', '-evil.example', 'hyphen'],
  ['domain', 'evil-.example', 'hyphen'],
  ['domain', `${'a'.repeat(64)}.example`, 'limit is 63'],
  [
    'domain',
    `${Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')}.com`,
    'limit is 253'
  ],
  ['domain', 'ev il.example', 'invalid character'],
  ['domain', 'evil.example/path', 'invalid character'],
  ['domain', 'http://evil.example', 'use type url'],
  ['domain', 'alice@evil.example', 'use type email'],
  ['domain', 'xn--zz.example', 'IDNA'],
  ['domain', 'evil dot example', 'invalid character'],
  ['url', 'javascript:alert(1)', "scheme 'javascript' is not allowed"],
  ['url', 'file:///etc/passwd', "scheme 'file' is not allowed"],
  ['url', 'mailto:alice@example.com', 'not allowed'],
  ['url', 'http:evil.example', "expected '//'"],
  ['url', 'http://', 'not a valid URL'],
  ['url', 'http://evil example/', 'not a valid URL'],
  ['url', 'http://evil..example/', 'empty label'],
  ['url', `http://evil.example/${'ü'.repeat(700)}`, 'normalized URL is 4220 characters long; the limit is 2048'],
  ['email', 'alice.example.com', 'no @'],
  ['email', '@example.com', 'empty local part'],
  ['email', 'a@b@example.com', 'more than one @'],
  ['email', `${'a'.repeat(65)}@example.com`, 'limit is 64'],
  ['email', 'al ice@example.com', 'whitespace'],
  ['email', 'alice@localhost', 'email domain: a domain needs at least two labels'],
  ['md5', EMPTY_MD5.slice(1), 'must be 32 hex characters, got 31'],
  ['md5', EMPTY_SHA1, 'did you mean type sha1'],
  ['sha1', `${EMPTY_SHA1.slice(1)}g`, 'non-hex character'],
  ['sha256', EMPTY_MD5, 'must be 64 hex characters'],
  ['sha512', EMPTY_SHA256, 'must be 128 hex characters'],
  ['ja3', 'xyz', 'must be 32 hex characters'],
  ['cve', 'CVE-2021-442', 'at least four digits'],
  ['cve', 'CVE_2021_44228', 'not a CVE id'],
  ['cve', 'cve 2021-44228', 'not a CVE id'],
  ['cve', 'CVE-1998-0001', 'out of range 1999–2100'],
  ['cve', 'CVE-2101-0001', 'out of range'],
  ['asn', 'AS4294967296', 'out of range'],
  ['asn', 'AS-13335', 'not an AS number'],
  ['asn', 'AS1.10', 'not an AS number'],
  ['asn', 'ASN', 'not an AS number'],
  ['sha256', 'a'.repeat(2049), 'too long: over 2048'],
  ['url', `http://evil.example/${'a'.repeat(2040)}`, 'too long'],
  ['domain', `${'a'.repeat(3000)}.com`, 'too long']
]

/** a test title for a possibly huge input */
function show (s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 40)}…(${s.length} chars)` : s)
}

describe('normalizeValue', () => {
  it.each(VALID.map(([t, i, e]) => [t, show(i), i, e] as const))('%s %s → %j', (type, _title, input, expected) => {
    expect(normalizeValue(type, input)).toBe(expected)
  })

  it.each(VALID.map(([t, i]) => [t, show(i), i] as const))('%s %s is idempotent', (type, _title, input) => {
    const once = normalizeValue(type, input)
    expect(normalizeValue(type, once)).toBe(once)
  })

  it.each(INVALID.map(([t, i, f]) => [t, show(i), f, i] as const))('%s %s is rejected (%j)', (type, _title, fragment, input) => {
    let caught: unknown
    try {
      normalizeValue(type, input)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(ValidationError)
    const err = caught as ValidationError
    expect(err.field).toBe('value')
    expect(err.code).toBe('PX_ERR_VALIDATION')
    expect(err.message).toContain(fragment)
  })

  it('has enough cases', () => {
    expect(VALID.length).toBeGreaterThanOrEqual(50)
    expect(INVALID.length).toBeGreaterThanOrEqual(25)
    const covered = new Set(VALID.map(([t]) => t))
    for (const t of INDICATOR_TYPES) expect(covered.has(t), t).toBe(true)
  })
})

describe('refang', () => {
  it.each([
    ['  evil[.]example  ', 'evil.example'],
    ['hxxp://evil[.]example', 'http://evil.example'],
    ['HXXPS://evil(.)example', 'https://evil.example'],
    ['hxxps[:]//a[.]b', 'https://a.b'],
    ['hxxp[://]a[.]b[/]c', 'http://a.b/c'],
    ['fxps://a.b', 'ftps://a.b'],
    ['a[AT]b[DOT]c', 'a@b.c'],
    ['a{.}b{dot}c', 'a.b.c'],
    ['a\\.b', 'a.b'],
    ['[[.]]', '.'],
    ['[2001:db8::1]', '[2001:db8::1]'],
    ['[::]', '[::]'],
    ['http://[::1]:80/', 'http://[::1]:80/'],
    ['evil dot example', 'evil dot example'],
    ['x/hxxp://y', 'x/hxxp://y'],
    ['https://example.com/a(b)c[d]', 'https://example.com/a(b)c[d]']
  ])('%j → %j', (input, expected) => {
    expect(refang(input)).toBe(expected)
  })

  it('undoes nesting up to REFANG_MAX_PASSES levels; deeper is left defanged and the value is refused', () => {
    const nest = (n: number): string => `evil${'['.repeat(n)}.${']'.repeat(n)}example`
    expect(refang(nest(REFANG_MAX_PASSES))).toBe('evil.example')
    expect(refang(nest(REFANG_MAX_PASSES + 1))).toBe(`evil[.]example`)
    expect(() => normalizeValue('domain', nest(600))).toThrow(ValidationError)
  })

  it('reads long runs of spaces around a defanged dot in one pass', () => {
    // a match could start at each space of the run (quadratic) before the lookbehind
    expect(refang(`a${' '.repeat(1 << 17)}[.]com`)).toBe('a.com')
    expect(refang(`a${' '.repeat(1 << 17)}x`)).toBe(`a${' '.repeat(1 << 17)}x`)
    expect(refang(`user${' '.repeat(1 << 17)}[at]evil.example`)).toBe('user@evil.example')
  })

  it('is idempotent on arbitrary strings', () => {
    const defangy = fc.string({ unit: fc.constantFrom('[', ']', '(', ')', '{', '}', '.', 'dot', 'at', '@', ':', '//', '/', '\\', ' ', 'hxxp', 'meow', 'fxp', 's', 'x') })
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), defangy), (s) => {
      const once = refang(s)
      expect(refang(once)).toBe(once)
    }), { numRuns: 2000 })
  })
})

describe('detectType', () => {
  it.each([
    ['10.0.0.0/8', 'cidr'],
    ['2001:db8::/32', 'cidr'],
    ['192.0.2.1', 'ipv4'],
    ['1[.]2[.]3[.]4', 'ipv4'],
    ['2001:db8::1', 'ipv6'],
    ['[2001:db8::1]', 'ipv6'],
    ['::1', 'ipv6'],
    ['https://evil.example/x', 'url'],
    ['hxxp://evil[.]example', 'url'],
    ['alice@example.com', 'email'],
    ['alice[at]example[.]com', 'email'],
    [EMPTY_MD5.toUpperCase(), 'md5'],
    [EMPTY_SHA1, 'sha1'],
    [EMPTY_SHA256, 'sha256'],
    [EMPTY_SHA512, 'sha512'],
    ['cve-2021-44228', 'cve'],
    ['AS13335', 'asn'],
    ['as 13335', 'asn'],
    ['evil.example', 'domain'],
    ['Bücher.example', 'domain'],
    ['evil[.]example.', 'domain'],
    ['13335', undefined],
    ['1.2.3', undefined],
    ['', undefined],
    ['hello world', undefined],
    ['evil.example/path', undefined],
    ['http://', undefined],
    ['fe80::1%eth0', undefined],
    ['abcdef', undefined]
  ] as Array<[string, IndicatorType | undefined]>)('%j → %s', (input, expected) => {
    expect(detectType(input)).toBe(expected)
  })

  it('agrees with normalizeValue whenever it answers', () => {
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), fc.webUrl(), fc.emailAddress(), fc.string()), (s) => {
      const t = detectType(s)
      if (t !== undefined) expect(() => normalizeValue(t, s)).not.toThrow()
    }), { numRuns: 500 })
  })
})

describe('containingCidrs', () => {
  it('lists the v4 networks containing an IP', () => {
    expect(containingCidrs('203.0.113.7', 4, [8, 24, 32])).toEqual(['203.0.0.0/8', '203.0.113.0/24', '203.0.113.7/32'])
  })

  it('skips out-of-range, fractional and repeated lengths, keeps order', () => {
    expect(containingCidrs('10.1.2.3', 4, [33, -1, 16, 1.5, 0, 16, 128])).toEqual(['10.1.0.0/16', '0.0.0.0/0'])
    expect(containingCidrs('2001:db8::1', 6, [129, 32, 200, 128])).toEqual(['2001:db8::/32', '2001:db8::1/128'])
  })

  it('lists the v6 networks containing an IP', () => {
    expect(containingCidrs('2001:db8:abcd:1234::1', 6, [16, 32, 33, 48, 64, 127])).toEqual([
      '2001::/16', '2001:db8::/32', '2001:db8:8000::/33', '2001:db8:abcd::/48', '2001:db8:abcd:1234::/64', '2001:db8:abcd:1234::/127'
    ])
  })

  it('accepts a generator of lengths', () => {
    function * lengths (): Generator<number> { for (let l = 0; l <= 32; l += 8) yield l }
    expect(containingCidrs('198.51.100.200', 4, lengths())).toEqual([
      '0.0.0.0/0', '198.0.0.0/8', '198.51.0.0/16', '198.51.100.0/24', '198.51.100.200/32'
    ])
  })

  it('rejects an IP of the wrong family', () => {
    expect(() => containingCidrs('2001:db8::1', 4, [8])).toThrow(ValidationError)
    expect(() => containingCidrs('192.0.2.1', 6, [8])).toThrow(ValidationError)
  })

  it('gives exactly what normalizeValue(cidr) gives', () => {
    fc.assert(fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (ip, len) => {
      const norm = normalizeValue('ipv4', ip)
      expect(containingCidrs(norm, 4, [len])).toEqual([normalizeValue('cidr', `${ip}/${len}`)])
    }), { numRuns: 500 })
    fc.assert(fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), (ip, len) => {
      const norm = normalizeValue('ipv6', ip)
      expect(containingCidrs(norm, 6, [len])).toEqual([normalizeValue('cidr', `${ip}/${len}`)])
    }), { numRuns: 500 })
  })
})

describe('sameAddressForms', () => {
  it('gives the normalized forms of one address, each leading back to the others (property)', () => {
    fc.assert(fc.property(fc.ipV4(), (raw) => {
      const v4 = normalizeValue('ipv4', raw)
      const forms = sameAddressForms('ipv4', v4)
      expect(forms.map(([t]) => t)).toEqual(['ipv4', 'cidr', 'ipv6'])
      for (const [t, v] of forms) {
        expect(normalizeValue(t as IndicatorType, v), `${t} ${v}`).toBe(v)
        expect(sameAddressForms(t, v).map(f => f.join(' '))).toContain(`ipv4 ${v4}`)
      }
    }), { numRuns: 300 })
  })

  it('leaves other values alone', () => {
    expect(sameAddressForms('domain', 'evil.example')).toEqual([['domain', 'evil.example']])
    expect(sameAddressForms('cidr', '10.0.0.0/8')).toEqual([['cidr', '10.0.0.0/8']])
    expect(sameAddressForms('ipv6', '2001:db8::1')).toEqual([['ipv6', '2001:db8::1'], ['cidr', '2001:db8::1/128']])
  })
})

describe('ipFamily', () => {
  it('maps IP types to their family', () => {
    expect(ipFamily('ipv4')).toBe(4)
    expect(ipFamily('ipv6')).toBe(6)
    expect(ipFamily('domain')).toBeUndefined()
  })
})

describe('normalizeValue properties', () => {
  const idempotent = (type: IndicatorType) => (raw: string): void => {
    const once = normalizeValue(type, raw)
    expect(normalizeValue(type, once)).toBe(once)
  }
  const mixedCaseHex = (length: number): fc.Arbitrary<string> =>
    fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: length, maxLength: length })

  it('is idempotent for IPv4 addresses', () => {
    fc.assert(fc.property(fc.ipV4(), idempotent('ipv4')), { numRuns: 1000 })
  })

  it('is idempotent for IPv6 addresses', () => {
    fc.assert(fc.property(fc.ipV6(), idempotent('ipv6')), { numRuns: 1000 })
  })

  it('is idempotent for IPv6 addresses in brackets and upper case', () => {
    fc.assert(fc.property(fc.ipV6(), (ip) => {
      expect(normalizeValue('ipv6', `[${ip.toUpperCase()}]`)).toBe(normalizeValue('ipv6', ip))
    }), { numRuns: 500 })
  })

  it('is idempotent for domains', () => {
    fc.assert(fc.property(fc.domain(), (d) => {
      // fc.domain() may give an all-numeric TLD-less name only in theory; every output must round-trip
      const once = normalizeValue('domain', d)
      expect(once).toBe(d.toLowerCase())
      expect(normalizeValue('domain', once)).toBe(once)
    }), { numRuns: 1000 })
  })

  it('is idempotent for web URLs', () => {
    fc.assert(fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), idempotent('url')), { numRuns: 1000 })
  })

  it('is idempotent for hashes in mixed case', () => {
    for (const [type, len] of [['md5', 32], ['sha1', 40], ['sha256', 64], ['sha512', 128], ['ja3', 32]] as const) {
      fc.assert(fc.property(mixedCaseHex(len), (h) => {
        const once = normalizeValue(type, h)
        expect(once).toBe(h.toLowerCase())
        expect(normalizeValue(type, once)).toBe(once)
      }), { numRuns: 200 })
    }
  })

  it('only ever throws ValidationError, and its outputs are fixed points', () => {
    const input = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: fc.constantFrom('1', '0', '.', ':', '/', '[', ']', '@', 'a', 'f', 'x', 'A', 'S', '%', ' ', 'ü', '-', '_', '/') }),
      fc.ipV4(), fc.ipV6(), fc.domain(), fc.webUrl(), fc.emailAddress()
    )
    fc.assert(fc.property(fc.constantFrom(...INDICATOR_TYPES), input, (type, raw) => {
      let out: string
      try {
        out = normalizeValue(type, raw)
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError)
        expect((err as ValidationError).field).toBe('value')
        return
      }
      expect(typeof out).toBe('string')
      expect(out.length).toBeLessThanOrEqual(2048)
      expect(normalizeValue(type, out)).toBe(out)
    }), { numRuns: 5000 })
  })
})
