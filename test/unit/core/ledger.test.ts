import { describe, expect, it } from 'vitest';
import {
  judgeUnclassifiedFault,
  LEDGER_DEFAULTS,
  ledgerCode,
  MemoryFailureLedger,
  windowMinutes,
} from '../../../src/core/ledger.js';
import { failureLedgerConformance } from '../../conformance/failure-ledger.js';

failureLedgerConformance('MemoryFailureLedger', async () => new MemoryFailureLedger());

describe('Function: windowMinutes', () => {
  it('lists the current minute and the ones before it the window reaches, newest first', () => {
    // Prepare
    const now = 10 * 60_000 + 30_000;

    // Act
    const minutes = windowMinutes(now, 5 * 60_000);

    // Assess
    expect(minutes).toEqual([10, 9, 8, 7, 6]);
  });

  it('always includes the current minute', () => {
    // Prepare / Act
    const minutes = windowMinutes(120_000, 0);

    // Assess
    expect(minutes).toEqual([2]);
  });
});

describe('Function: ledgerCode', () => {
  it('cuts a long code and names an empty one', () => {
    // Prepare
    const long = 'X'.repeat(LEDGER_DEFAULTS.maxCodeChars + 50);

    // Act / Assess
    expect(ledgerCode(long)).toHaveLength(LEDGER_DEFAULTS.maxCodeChars);
    expect(ledgerCode('')).toBe('-');
    expect(ledgerCode('Error')).toBe('Error');
  });
});

describe('Function: judgeUnclassifiedFault', () => {
  it('honours the thresholds it is given', async () => {
    // Prepare
    const ledger = new MemoryFailureLedger();
    const now = Date.now();

    // Act
    const first = await judgeUnclassifiedFault(
      ledger,
      { messageId: 'm1', code: 'Error', now },
      { streakLimit: 2 },
    );
    const second = await judgeUnclassifiedFault(
      ledger,
      { messageId: 'm1', code: 'Error', now },
      { streakLimit: 2 },
    );
    const other = await judgeUnclassifiedFault(
      ledger,
      { messageId: 'm2', code: 'Error', now },
      { systemicMessages: 2 },
    );

    // Assess
    expect(first).toEqual({ verdict: 'counted', streak: 1, messages: 1 });
    expect(second).toEqual({ verdict: 'repeated', streak: 2, messages: 1 });
    expect(other).toEqual({ verdict: 'systemic', streak: 0, messages: 2 });
  });

  it('keys the code as ledgerCode does, so codes that differ only past the cut share a streak', async () => {
    // Prepare
    const ledger = new MemoryFailureLedger();
    const now = Date.now();
    const base = 'C'.repeat(LEDGER_DEFAULTS.maxCodeChars);

    // Act
    await judgeUnclassifiedFault(ledger, { messageId: 'm', code: `${base}A`, now });
    const judged = await judgeUnclassifiedFault(ledger, { messageId: 'm', code: `${base}B`, now });

    // Assess
    expect(judged.streak).toBe(2);
  });
});
