import { describe, expect, it } from 'vitest';
import { EtaParseError, formatEta, parseDuration, parseEta } from '../../../src/client/eta.js';

const NOW = Date.parse('2030-01-01T00:00:00.000Z');

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
    ['2030-01-01T10:00:00Z', '2030-01-01T10:00:00.000Z'],
    ['2030-01-01t10:00:00z', '2030-01-01T10:00:00.000Z'],
    ['2030-01-01 12:00+02:00', '2030-01-01T10:00:00.000Z'],
    ['2030-01-01T12:00:00+0200', '2030-01-01T10:00:00.000Z'],
    ['2030-01-01T05:30:00.123456789-04:30', '2030-01-01T10:00:00.123Z'],
    ['2029-12-31T23:59:59.5Z', '2029-12-31T23:59:59.500Z'],
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
  ])('refuses %j with an EtaParseError', (text) => {
    // Act
    const act = () => parseEta(text, NOW);

    // Assess
    expect(act).toThrow(EtaParseError);
    try {
      act();
    } catch (e) {
      expect((e as EtaParseError).code).toBe('INVALID_ETA');
      expect((e as EtaParseError).input).toBe(text);
    }
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
});
