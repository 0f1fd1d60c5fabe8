import { describe, expect, it } from 'vitest';
import { parseQueueArn, sanitizeAttributeText } from '../../../src/aws/sqs-consumer.js';

describe('Function: parseQueueArn', () => {
  it('splits an SQS ARN into region, account and name', () => {
    // Act
    const parsed = parseQueueArn('arn:aws:sqs:eu-west-1:123456789012:p-tasks.fifo');

    // Assess
    expect(parsed).toEqual({
      region: 'eu-west-1',
      accountId: '123456789012',
      name: 'p-tasks.fifo',
    });
  });

  it('returns undefined for something else', () => {
    // Act & Assess
    expect(parseQueueArn('arn:aws:sns:eu-west-1:123456789012:topic')).toBeUndefined();
    expect(parseQueueArn('tasks.fifo')).toBeUndefined();
  });
});

describe('Function: sanitizeAttributeText', () => {
  it('replaces characters SQS refuses and keeps the rest', () => {
    // Act & Assess
    expect(sanitizeAttributeText('a\u0000b\u0007c\td\ne é 😀')).toBe('a?b?c\td\ne é 😀');
    expect(sanitizeAttributeText('\uFFFF')).toBe('?');
  });

  it('cuts long text with an ellipsis, never splitting a surrogate pair', () => {
    // Prepare
    const text = `${'x'.repeat(8)}😀😀`;

    // Act
    const cut = sanitizeAttributeText(text, 10);

    // Assess
    expect(cut).toBe('xxxxxxxx…');
    expect(cut.length).toBeLessThanOrEqual(10);
    expect(sanitizeAttributeText('x'.repeat(5000)).length).toBe(2000);
  });

  it('never returns an empty value (SQS refuses empty attributes)', () => {
    // Act & Assess
    expect(sanitizeAttributeText('   ')).toBe('-');
  });
});
