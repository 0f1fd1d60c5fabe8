import { describe, expect, it } from 'vitest';
import { EtaParseError } from '../../../src/core/errors.js';
import {
  etaToMillis,
  formatEta,
  normalizeEta,
  parseDuration,
  parseEta,
  parseRfc3339,
} from '../../../src/core/time.js';

const NOW = Date.parse('2030-01-01T00:00:00.000Z');

/** The error `act` throws, or a failed assertion when it throws none. */
function thrown(act: () => unknown): EtaParseError {
  try {
    act();
  } catch (e) {
    expect(e).toBeInstanceOf(EtaParseError);
    return e as EtaParseError;
  }
  throw new Error('expected an EtaParseError');
}

describe('Function: parseRfc3339', () => {
  it.each([
    ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00Z', Date.UTC(2024, 4, 1, 10)],
    ['2024-05-01t12:00:00+02:00', '2024-05-01T10:00:00Z', Date.UTC(2024, 4, 1, 10)],
    [
      '2024-05-01T12:00:00.123456789+02:00',
      '2024-05-01T10:00:00.123456789Z',
      Date.UTC(2024, 4, 1, 10, 0, 0, 123),
    ],
    ['2024-05-01T10:00:00.500z', '2024-05-01T10:00:00.5Z', Date.UTC(2024, 4, 1, 10, 0, 0, 500)],
    ['2024-05-01T10:00:00.000Z', '2024-05-01T10:00:00Z', Date.UTC(2024, 4, 1, 10)],
    ['2024-03-01T00:30:00+01:00', '2024-02-29T23:30:00Z', Date.UTC(2024, 1, 29, 23, 30)],
    ['9999-12-31T23:59:59.999999999Z', '9999-12-31T23:59:59.999999999Z', 253_402_300_799_999],
  ])('normalises %s to UTC RFC3339Nano', (text, normalised, ms) => {
    // Act
    const t = parseRfc3339(text);

    // Assess
    expect(t.text).toBe(normalised);
    expect(t.ms).toBe(ms);
  });

  it('keeps years below 100 as they are (no 19xx mapping)', () => {
    // Act
    const t = parseRfc3339('0099-06-01T00:00:00Z');

    // Assess
    expect(t.text).toBe('0099-06-01T00:00:00Z');
    expect(new Date(t.ms).getUTCFullYear()).toBe(99);
  });

  it.each([
    ['tomorrow', /expected RFC 3339/],
    ['', /expected RFC 3339/],
    ['2024-05-01 10:00:00Z', /expected RFC 3339/],
    ['2024-05-01T10:00Z', /expected RFC 3339/],
    ['2024-05-01T10:00:00+0200', /expected RFC 3339/],
    ['2024-05-01T10:00:00', /no time zone offset/],
    ['2024-02-30T10:00:00Z', /day 30/],
    ['2023-02-29T10:00:00Z', /day 29/],
    ['2024-13-01T10:00:00Z', /month 13/],
    ['2024-05-01T24:00:00Z', /hour 24/],
    ['2024-05-01T10:60:00Z', /minute 60/],
    ['2024-05-01T10:00:60Z', /second 60/],
    ['2024-05-01T10:00:00+24:00', /offset \+24:00/],
    ['2024-05-01T10:00:00.1234567891Z', /nanoseconds/],
    ['0000-01-01T00:00:00+01:00', /outside years 0000-9999/],
    ['9999-12-31T23:00:00-01:00', /outside years 0000-9999/],
  ])('refuses %j: %s', (text, why) => {
    // Act
    const e = thrown(() => parseRfc3339(text));

    // Assess
    expect(e.code).toBe('INVALID_ETA');
    expect(e.input).toBe(text);
    expect(e.detail).toMatch(why);
  });

  it('accepts what people type only when lenient', () => {
    // Prepare
    const typed = ['2030-01-01 12:00+02:00', '2030-01-01T12:00:00+0200', '2030-01-01T10:00Z'];

    // Act
    const lenient = typed.map((t) => parseRfc3339(t, { lenient: true }).text);
    const strict = typed.map((t) => () => parseRfc3339(t));

    // Assess
    expect(lenient).toStrictEqual(Array(3).fill('2030-01-01T10:00:00Z'));
    for (const act of strict) expect(act).toThrow(EtaParseError);
  });

  it('shortens a long input in its message but keeps it whole in input', () => {
    // Prepare
    const garbage = 'x'.repeat(10_000);

    // Act
    const e = thrown(() => parseRfc3339(garbage));

    // Assess
    expect(e.input).toBe(garbage);
    expect(e.message).toContain(`"${'x'.repeat(64)}…"`);
    expect(e.message).not.toContain('x'.repeat(65));
  });
});

describe('Function: formatEta', () => {
  it.each([
    [0, '1970-01-01T00:00:00Z'],
    [1_500, '1970-01-01T00:00:01.5Z'],
    [10, '1970-01-01T00:00:00.01Z'],
    [-1, '1969-12-31T23:59:59.999Z'],
    [Date.UTC(2030, 0, 1, 10), '2030-01-01T10:00:00Z'],
    [253_402_300_799_999, '9999-12-31T23:59:59.999Z'],
  ])('writes %i as %s', (ms, text) => {
    // Act
    const formatted = formatEta(ms);

    // Assess
    expect(formatted).toBe(text);
    expect(parseRfc3339(formatted).ms).toBe(ms);
  });

  it('refuses a time that is not finite or beyond year 9999', () => {
    // Prepare
    const bad = [Number.NaN, Number.POSITIVE_INFINITY, 253_402_300_800_000];

    // Act
    const errors = bad.map((ms) => thrown(() => formatEta(ms)));

    // Assess
    expect(errors.map((e) => e.code)).toStrictEqual(Array(3).fill('INVALID_ETA'));
    expect(errors[2]?.detail).toMatch(/outside years/);
  });
});

describe('Function: normalizeEta', () => {
  it('normalises strings, Dates and epoch milliseconds the same way', () => {
    // Prepare
    const ms = Date.UTC(2024, 4, 1, 10, 0, 0, 500);

    // Act
    const forms = [
      normalizeEta('2024-05-01T12:00:00.5+02:00'),
      normalizeEta(new Date(ms)),
      normalizeEta(ms),
    ];

    // Assess
    expect(forms).toStrictEqual(Array(3).fill('2024-05-01T10:00:00.5Z'));
    expect(normalizeEta(null)).toBeNull();
    expect(normalizeEta(undefined)).toBeNull();
  });

  it('refuses an invalid time with an EtaParseError', () => {
    // Prepare
    const invalid = ['2024-05-01 10:00:00Z', Number.NaN, new Date(Number.NaN)];

    // Act
    const errors = invalid.map((eta) => thrown(() => normalizeEta(eta)));

    // Assess
    expect(errors).toHaveLength(3);
  });
});

describe('Function: etaToMillis', () => {
  it('returns epoch milliseconds, dropping sub-millisecond fractions, and null for null', () => {
    // Prepare
    const eta = '1970-01-01T00:00:01.5009Z';

    // Act
    const ms = etaToMillis(eta);

    // Assess
    expect(ms).toBe(1500);
    expect(etaToMillis('2026-01-01T01:00:00.123456789+01:00')).toBe(
      Date.UTC(2026, 0, 1, 0, 0, 0, 123),
    );
    expect(etaToMillis(null)).toBeNull();
  });

  it('throws on a malformed ETA instead of treating it as due', () => {
    // Prepare
    const malformed = ['', 'tomorrow', '2026-13-45T00:00:00Z'];

    // Act
    const errors = malformed.map((eta) => thrown(() => etaToMillis(eta)));

    // Assess
    expect(errors.map((e) => e.input)).toStrictEqual(malformed);
  });
});

describe('Function: parseEta', () => {
  it.each([
    ['+30s', NOW + 30_000],
    ['+20m', NOW + 20 * 60_000],
    ['+1h30m', NOW + 90 * 60_000],
    ['+500ms', NOW + 500],
    ['+1.5m', NOW + 90_000],
    ['+2d', NOW + 2 * 86_400_000],
    [' +0s ', NOW],
  ])('adds the relative duration %s to now', (text, expected) => {
    // Act
    const eta = parseEta(text, NOW);

    // Assess
    expect(eta).toBe(expected);
  });

  it.each([
    ['2030-01-01T10:00:00Z', '2030-01-01T10:00:00Z'],
    ['2030-01-01t10:00:00z', '2030-01-01T10:00:00Z'],
    ['2030-01-01 12:00+02:00', '2030-01-01T10:00:00Z'],
    ['2030-01-01T12:00:00+0200', '2030-01-01T10:00:00Z'],
    ['2030-01-01T05:30:00.123456789-04:30', '2030-01-01T10:00:00.123Z'],
    ['2029-12-31T23:59:59.5Z', '2029-12-31T23:59:59.5Z'],
  ])('reads the absolute time %s as UTC', (text, expected) => {
    // Act
    const eta = parseEta(text, NOW);

    // Assess
    expect(formatEta(eta)).toBe(expected);
  });

  it.each([
    '',
    'soon',
    '30s',
    '+',
    '+30',
    '+30x',
    '+-5s',
    '2030-01-01T10:00:00',
    '2030-01-01',
    '2030-02-30T10:00:00Z',
    '2030-13-01T10:00:00Z',
    '2030-01-01T25:00:00Z',
    '2030-01-01T10:00:00+25:00x',
  ])('refuses %j with an EtaParseError naming the accepted forms', (text) => {
    // Act
    const e = thrown(() => parseEta(text, NOW));

    // Assess
    expect(e.code).toBe('INVALID_ETA');
    expect(e.input).toBe(text);
    expect(e.message).toContain('use +<duration>');
  });

  it('accepts a time in the past', () => {
    // Act
    const eta = parseEta('2000-01-01T00:00:00Z', NOW);

    // Assess
    expect(eta).toBeLessThan(NOW);
  });
});

describe('Function: parseDuration', () => {
  it('sums parts in any order', () => {
    // Act
    const ms = parseDuration('30s1h');

    // Assess
    expect(ms).toBe(3_630_000);
  });

  it('refuses text outside the grammar and a duration beyond safe integers', () => {
    // Prepare
    const bad = ['', '5', '5x', '-5s', `${'9'.repeat(20)}d`];

    // Act
    const errors = bad.map((text) => thrown(() => parseDuration(text)));

    // Assess
    expect(errors.map((e) => e.detail)).toStrictEqual([
      'not a duration',
      'not a duration',
      'not a duration',
      'not a duration',
      'duration too large',
    ]);
  });
});
