import { describe, expect, it } from 'vitest';
import { typeScriptLoadHint } from '../../../src/cli/task-loader.js';

/** An error as Node.js's loader throws it. */
const nodeError = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('Function: typeScriptLoadHint', () => {
  it('says what to do when Node.js cannot strip the types of a .ts tasks module', () => {
    // Act
    const hints = [
      typeScriptLoadHint('/app/tasks.ts', nodeError('ERR_UNKNOWN_FILE_EXTENSION')),
      typeScriptLoadHint('/app/tasks.mts', nodeError('ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX')),
      typeScriptLoadHint(
        '/app/tasks.ts',
        nodeError('ERR_MODULE_NOT_FOUND', "Cannot find module '/app/contracts.js'"),
      ),
      typeScriptLoadHint('/app/tasks.ts', new SyntaxError('Unexpected token')),
    ];

    // Assess
    for (const hint of hints) {
      expect(hint).toContain('stripping its types');
      expect(hint).toContain('--experimental-strip-types');
      expect(hint).toContain('npx tsx node_modules/.bin/machinery');
    }
  });

  it('gives none for JavaScript, for a missing tasks module, or for an error of the module itself', () => {
    // Act
    const hints = [
      typeScriptLoadHint('/app/tasks.js', nodeError('ERR_UNKNOWN_FILE_EXTENSION')),
      typeScriptLoadHint(
        '/app/tasks.ts',
        nodeError('ERR_MODULE_NOT_FOUND', "Cannot find module '/app/tasks.ts'"),
      ),
      typeScriptLoadHint('/app/tasks.ts', new TypeError('db is undefined')),
    ];

    // Assess
    expect(hints).toEqual([undefined, undefined, undefined]);
  });
});
