import { describe, expect, it } from 'vitest';
import { DEMO_ITEMS, type DemoItem, runDemoItems } from '../../../src/cli/commands/demo.js';
import type { LocalRuntime } from '../../../src/cli/local-runtime.js';

/** The items here never touch the runtime. */
const runtime = {} as LocalRuntime;

describe('Function: runDemoItems', () => {
  it('marks an item ok only when its actual result is the expected one, and shows a rejection as its result', async () => {
    // Prepare
    const items: DemoItem[] = [
      { name: 'right', expected: '88', run: async () => '88' },
      { name: 'wrong', expected: '88', run: async () => '87' },
      {
        name: 'broken',
        expected: '88',
        run: async () => {
          throw new Error('no stack');
        },
      },
    ];

    // Act
    const results = await runDemoItems(items, runtime, { timeoutMs: 1_000 });

    // Assess
    expect(results.map(({ ms: _ms, ...r }) => r)).toEqual([
      { name: 'right', expected: '88', actual: '88', ok: true },
      { name: 'wrong', expected: '88', actual: '87', ok: false },
      { name: 'broken', expected: '88', actual: '(failed: internal error: no stack)', ok: false },
    ]);
    expect(results.every((r) => Number.isInteger(r.ms) && r.ms >= 0)).toBe(true);
  });

  it('passes the timeout to every item', async () => {
    // Prepare
    const seen: number[] = [];
    const item: DemoItem = {
      name: 'x',
      expected: '',
      run: async (_runtime, { timeoutMs }) => {
        seen.push(timeoutMs);
        return '';
      },
    };

    // Act
    await runDemoItems([item, item], runtime, { timeoutMs: 1234 });

    // Assess
    expect(seen).toEqual([1234, 1234]);
  });
});

describe('Constant: DEMO_ITEMS', () => {
  it("holds machinery's workflows with their expected results", () => {
    // Assess
    expect(
      DEMO_ITEMS.filter((i) => /^(group|chord|chain) /.test(i.name)).map((i) => [
        i.name,
        i.expected,
      ]),
    ).toEqual([
      ['group add(1, 1), add(2, 2), add(5, 6)', '[2], [4], [11]'],
      ['chord of that group into multiply', '88'],
      ['chain add(2, 2) → add(5, 6) → multiply(4)', '60'],
      ['chain add(1, 1) → add(2, 2) → add(5, 6) → multiply(4)', '68'],
    ]);
  });
});
