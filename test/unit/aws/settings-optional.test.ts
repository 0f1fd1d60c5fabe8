import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/aws/errors.js';
import {
  formatEnvFile,
  fromVariables,
  localEnvSource,
  resolveSettings,
} from '../../../src/aws/settings.js';
import { ENV, OPTIONAL_ENV_KEYS } from '../../../src/core/resources.js';
import { localValues } from '../support/settings.js';

/** The fixture's variables plus the optional ones, valid. */
function withOptional(tag = 'local'): Record<string, string> {
  const queues = `http://${tag}-sqs.test/000000000000`;
  return {
    ...localValues(tag),
    [ENV.highTaskQueueUrl]: `${queues}/tasks-high.fifo`,
    [ENV.highDlqUrl]: `${queues}/tasks-high-dlq.fifo`,
    [ENV.workersTable]: `${tag}_workers`,
  };
}

describe('Function: formatEnvFile (optional settings)', () => {
  it('writes the optional variables when present and leaves them out when absent', () => {
    // Act
    const full = formatEnvFile(withOptional());
    const without = formatEnvFile(localValues());

    // Assess
    expect(full).toContain(
      `${ENV.highTaskQueueUrl}=http://local-sqs.test/000000000000/tasks-high.fifo\n`,
    );
    expect(full).toContain(`${ENV.workersTable}=local_workers\n`);
    for (const key of OPTIONAL_ENV_KEYS) expect(without).not.toContain(`${ENV[key]}=`);
    expect(without.split('\n').filter((l) => l !== '')).toHaveLength(15);
  });
});

describe('Function: localEnvSource (optional settings)', () => {
  it('reads a local.env without the optional variables, and still names a missing required one', () => {
    // Prepare
    const { [ENV.dlqUrl]: _dropped, ...incomplete } = localValues();

    // Act
    const source = localEnvSource('/x/local.env', formatEnvFile(localValues()));
    const act = () =>
      localEnvSource(
        '/x/local.env',
        Object.entries(incomplete)
          .map(([k, v]) => `${k}=${v}\n`)
          .join(''),
      );

    // Assess
    expect(source.variables[ENV.highTaskQueueUrl]).toBeUndefined();
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(`missing ${ENV.dlqUrl})`);
  });
});

describe('Function: resolveSettings (optional settings)', () => {
  it('takes valid optional settings and leaves them unset when absent', () => {
    // Act
    const on = resolveSettings(fromVariables(withOptional())).settings;
    const off = resolveSettings(fromVariables(localValues())).settings;

    // Assess
    expect(on.highTaskQueueUrl).toBe('http://local-sqs.test/000000000000/tasks-high.fifo');
    expect(on.highDlqUrl).toBe('http://local-sqs.test/000000000000/tasks-high-dlq.fifo');
    expect(on.workersTable).toBe('local_workers');
    expect(off.highTaskQueueUrl).toBeUndefined();
    expect(off.workersTable).toBeUndefined();
  });

  it('refuses a standard high queue, a high DLQ that is no URL and a bad workers table in one error', () => {
    // Prepare
    const vars = {
      ...localValues(),
      [ENV.highTaskQueueUrl]: 'http://local-sqs.test/000000000000/tasks-high',
      [ENV.highDlqUrl]: 'not a url',
      [ENV.workersTable]: 'x',
    };

    // Act
    let error: unknown;
    try {
      resolveSettings(fromVariables(vars));
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variables).toEqual([
      ENV.highTaskQueueUrl,
      ENV.highDlqUrl,
      ENV.workersTable,
    ]);
    expect((error as Error).message).toContain('must name a FIFO queue');
  });
});
