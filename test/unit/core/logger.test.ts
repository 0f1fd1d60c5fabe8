import { describe, expect, it } from 'vitest';
import { MachineryError } from '../../../src/core/errors.js';
import {
  childLogger,
  createConsoleLogger,
  type LogLevel,
  noopLogger,
} from '../../../src/core/logger.js';

describe('Function: createConsoleLogger', () => {
  it('writes JSON lines at or above its level with base and entry fields', () => {
    // Prepare
    const lines: [string, LogLevel][] = [];
    const logger = createConsoleLogger({
      level: 'info',
      fields: { service: 'worker' },
      write: (line, level) => lines.push([line, level]),
      now: () => 0,
    });
    const circular: Record<string, unknown> = {};
    circular.self = circular;

    // Act
    logger.debug('hidden');
    logger.info('hello', { n: 1n, err: new MachineryError('X', 'boom'), bytes: new Uint8Array(2) });
    logger.warn('careful', { list: [new Error('e')], fn: () => 1, circular });
    logger.error('bad');

    // Assess
    expect(lines.map(([, level]) => level)).toStrictEqual(['info', 'warn', 'error']);
    expect(JSON.parse(lines[0]?.[0] ?? '')).toStrictEqual({
      level: 'info',
      time: '1970-01-01T00:00:00.000Z',
      message: 'hello',
      service: 'worker',
      n: '1',
      err: { name: 'MachineryError', message: 'boom', code: 'X' },
      bytes: '<2 bytes>',
    });
    expect(JSON.parse(lines[1]?.[0] ?? '')).toMatchObject({
      list: [{ name: 'Error', message: 'e' }],
      circular: { self: '<circular>' },
    });
  });

  it('writes to the console by default', () => {
    // Prepare
    const logger = createConsoleLogger({ level: 'error' });

    // Act
    const act = () => logger.info('dropped');

    // Assess
    expect(act).not.toThrow();
  });
});

describe('Function: childLogger', () => {
  it('adds its fields to every entry', () => {
    // Prepare
    const seen: unknown[] = [];
    const parent = {
      debug: (m: string, f?: object) => seen.push(['debug', m, f]),
      info: (m: string, f?: object) => seen.push(['info', m, f]),
      warn: (m: string, f?: object) => seen.push(['warn', m, f]),
      error: (m: string, f?: object) => seen.push(['error', m, f]),
    };
    const child = childLogger(parent, { uuid: 'task_1' });

    // Act
    child.debug('a');
    child.info('b', { x: 1 });
    child.warn('c');
    child.error('d');
    noopLogger.info('nothing');

    // Assess
    expect(seen).toStrictEqual([
      ['debug', 'a', { uuid: 'task_1' }],
      ['info', 'b', { uuid: 'task_1', x: 1 }],
      ['warn', 'c', { uuid: 'task_1' }],
      ['error', 'd', { uuid: 'task_1' }],
    ]);
  });
});
