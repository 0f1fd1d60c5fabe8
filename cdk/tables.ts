/**
 * The DynamoDB tables of a machinery deployment, `task_states`, `group_metas` and `workers`, keyed as
 * `src/core/resources.ts` says: an existing table when the props give one, otherwise a new
 * on-demand table with TTL, point-in-time recovery and encryption, retained on stack deletion by
 * default. Access to them is granted by `grants.ts`; checking an existing table's key is
 * `validation.ts`'s job.
 *
 * @module
 */
import { aws_dynamodb as dynamodb, RemovalPolicy } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type ResourceNames, TABLES, type TableId } from '../src/core/resources.js';
import type { MachineryProps } from './props.js';

/**
 * The tables of a deployment.
 *
 * @example
 * ```ts
 * const { taskStates } = buildTables(this, props, undefined);
 * ```
 */
export interface MachineryTables {
  /** `task_states`. */
  readonly taskStates: dynamodb.ITable;
  /** `group_metas`. */
  readonly groupMetas: dynamodb.ITable;
  /** `workers`: the alive records of running workers (always new). */
  readonly workers: dynamodb.ITable;
}

/**
 * The existing tables of `props`, and new ones in `scope` for those it does not give.
 *
 * @example
 * ```ts
 * const tables = buildTables(this, { tableRemovalPolicy: RemovalPolicy.DESTROY }, names);
 * ```
 */
export function buildTables(
  scope: Construct,
  props: MachineryProps,
  names: ResourceNames | undefined,
): MachineryTables {
  // A Table is an ITable; the casts only quiet exactOptionalPropertyTypes on CDK's own types.
  return {
    taskStates: (props.existingTaskStatesTable ??
      buildTable(scope, 'taskStates', props, names)) as dynamodb.ITable,
    groupMetas: (props.existingGroupMetasTable ??
      buildTable(scope, 'groupMetas', props, names)) as dynamodb.ITable,
    workers: buildTable(scope, 'workers', props, names) as dynamodb.ITable,
  };
}

function buildTable(
  scope: Construct,
  id: TableId,
  props: MachineryProps,
  names: ResourceNames | undefined,
): dynamodb.Table {
  const spec = TABLES[id];
  const logicalId = id.charAt(0).toUpperCase() + id.slice(1);
  return new dynamodb.Table(scope, `${logicalId}Table`, {
    ...(names ? { tableName: names.tables[id] } : {}),
    partitionKey: { name: spec.partitionKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: spec.ttlAttribute,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    deletionProtection: props.tableDeletionProtection ?? false,
  });
}
