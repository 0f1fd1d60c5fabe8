import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleSources } from '../../cdk/props.js';
import { validateMachineryProps } from '../../cdk/validation.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('Function: bundleSources', () => {
  let work: string;

  beforeAll(() => {
    work = realpathSync(mkdtempSync(join(tmpdir(), 'machinery-bundle-sources-')));
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  /** A project directory holding `files` (path → text). */
  const project = (name: string, files: Record<string, string>): string => {
    const dir = join(work, name);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  };

  it('bundles the example worker and the forwarder from this package, with its root and lock file, by default', () => {
    // Act
    const sources = bundleSources({}, ROOT);

    // Assess
    expect(sources).toEqual({
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      workerEntry: join(ROOT, 'examples', 'worker.ts'),
      forwarderEntry: join(ROOT, 'src', 'handlers', 'forwarder.ts'),
    });
    expect(existsSync(sources.forwarderEntry)).toBe(true);
  });

  it("takes the project root from the lock file nearest the user's worker entry", () => {
    // Prepare
    const app = project('npm-app', { 'package-lock.json': '{}', 'src/tasks/worker.ts': '' });
    const yarn = project('yarn-app', { 'yarn.lock': '', 'worker.ts': '' });

    // Act
    const fromApp = bundleSources({ workerEntry: 'src/tasks/worker.ts' }, app);
    const fromElsewhere = bundleSources({ workerEntry: join(yarn, 'worker.ts') }, ROOT);

    // Assess
    expect(fromApp.projectRoot).toBe(app);
    expect(fromApp.depsLockFilePath).toBe(join(app, 'package-lock.json'));
    expect(fromApp.workerEntry).toBe(join(app, 'src', 'tasks', 'worker.ts'));
    expect(fromElsewhere.projectRoot).toBe(yarn);
    expect(fromElsewhere.depsLockFilePath).toBe(join(yarn, 'yarn.lock'));
  });

  it('falls back to the lock file above the current directory, and keeps an explicit root and lock', () => {
    // Prepare
    const loose = project('loose', { 'worker.ts': '' });
    const app = project('explicit', { 'pnpm-lock.yaml': '' });

    // Act
    const fallback = bundleSources({ workerEntry: join(loose, 'worker.ts') }, ROOT);
    const explicitRoot = bundleSources({ workerEntry: join(loose, 'worker.ts'), projectRoot: app });
    const explicitLock = bundleSources({
      workerEntry: join(loose, 'worker.ts'),
      depsLockFilePath: join(app, 'pnpm-lock.yaml'),
    });

    // Assess
    expect(fallback.projectRoot).toBe(ROOT);
    expect(fallback.depsLockFilePath).toBe(join(ROOT, 'package-lock.json'));
    expect(explicitRoot.depsLockFilePath).toBe(join(app, 'pnpm-lock.yaml'));
    expect(explicitLock.projectRoot).toBe(app);
  });

  it('names a package-lock.json that validation reports when a given project root holds no lock file', () => {
    // Prepare
    const bare = project('bare', { 'worker.ts': '' });

    // Act
    const sources = bundleSources({ projectRoot: bare });
    const problems = validateMachineryProps({ projectRoot: bare });

    // Assess
    expect(sources.depsLockFilePath).toBe(join(bare, 'package-lock.json'));
    expect(problems).toContain(
      `depsLockFilePath ${join(bare, 'package-lock.json')} does not exist`,
    );
  });
});
