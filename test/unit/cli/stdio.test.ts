import { afterEach, describe, expect, it, vi } from 'vitest';
import { redirectStdoutToStderr } from '../../../src/cli/stdio.js';

describe('Function: redirectStdoutToStderr', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('sends stdout writes to stderr until restored', () => {
    // Prepare
    const toStderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const restore = redirectStdoutToStderr();

    // Act
    process.stdout.write('log line\n');
    restore();

    // Assess
    expect(toStderr).toHaveBeenCalledWith('log line\n');
    expect(Object.hasOwn(process.stdout, 'write')).toBe(false);
  });

  it('leaves a writer bound before the redirect on stdout', () => {
    // Prepare
    const toStdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const toStderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const result = process.stdout.write.bind(process.stdout);
    const restore = redirectStdoutToStderr();

    // Act
    result('the result\n');
    restore();

    // Assess
    expect(toStdout).toHaveBeenCalledWith('the result\n');
    expect(toStderr).not.toHaveBeenCalled();
  });
});
