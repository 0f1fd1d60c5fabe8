import { describe, expect, it } from 'vitest';
import {
  attributeValueBytes,
  messageBytes,
  storedResultBytes,
  TRUNCATION_MARKER,
  truncateText,
  utf8Bytes,
} from '../../../src/core/bounds.js';
import { encodeSignature, newSignature } from '../../../src/core/signature.js';

describe('Function: truncateText', () => {
  it('returns a text within the limit unchanged', () => {
    // Act
    const out = truncateText('short', 5);

    // Assess
    expect(out).toBe('short');
  });

  it('cuts a longer text to exactly the limit, ending with the marker', () => {
    // Act
    const out = truncateText('a'.repeat(5_000), 100);

    // Assess
    expect(out).toHaveLength(100);
    expect(out).toBe(`${'a'.repeat(100 - TRUNCATION_MARKER.length)}${TRUNCATION_MARKER}`);
  });

  it('never splits a surrogate pair', () => {
    // Prepare: the cut would fall between the two halves of the 4th emoji
    const text = '😀'.repeat(50);
    const limit = TRUNCATION_MARKER.length + 7;

    // Act
    const out = truncateText(text, limit);

    // Assess
    expect(out).toBe(`${'😀'.repeat(3)}${TRUNCATION_MARKER}`);
    expect(out.length).toBeLessThanOrEqual(limit);
  });
});

describe('Function: attributeValueBytes', () => {
  it('sizes values by DynamoDB item-size rules', () => {
    // Act & Assess
    expect(attributeValueBytes('é')).toBe(2);
    expect(attributeValueBytes(42)).toBe(2);
    expect(attributeValueBytes(123.45)).toBe(4);
    expect(attributeValueBytes(true)).toBe(1);
    expect(attributeValueBytes(null)).toBe(1);
    expect(attributeValueBytes([1, 2])).toBe(3 + 2 * (1 + 2));
    expect(attributeValueBytes({ Type: 'int64', Value: 42 })).toBe(21);
  });
});

describe('Function: storedResultBytes', () => {
  it('sizes results in their stored form, 64-bit values as decimal strings', () => {
    // Act
    const bytes = storedResultBytes([{ Type: 'uint64', Value: 18446744073709551615n }]);

    // Assess: list 3 + element 1 + map 3 + "Type"/"uint64" 1+4+6 + "Value"/20 digits 1+5+20
    expect(bytes).toBe(3 + 1 + 3 + 11 + 26);
  });
});

describe('Function: messageBytes', () => {
  it('counts the encoded body and the trace-context attributes the broker adds', () => {
    // Prepare
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const sig = newSignature('add', [], { Headers: { traceparent, other: 'x' } });

    // Act
    const bytes = messageBytes(sig);

    // Assess
    expect(bytes).toBe(
      utf8Bytes(encodeSignature(sig)) + 'traceparent'.length + 'String'.length + traceparent.length,
    );
  });
});
