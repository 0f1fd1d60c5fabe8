/**
 * A CloudFormation stand-in for `--stack` / `fromStack` tests: an HTTP server on a free port that
 * answers `DescribeStacks` in the AWS Query protocol the SDK speaks (form-encoded request, XML
 * response) from a map of stack name → outputs, and a `ValidationError` ("Stack with id … does
 * not exist") for any other name. Every other action is refused. No emulator on npm serves
 * CloudFormation outputs, hence this.
 *
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One stack output, as `DescribeStacks` returns it. */
export interface StubOutput {
  OutputKey: string;
  OutputValue: string;
  Description?: string;
}

/**
 * A running stub.
 *
 * @example
 * ```ts
 * const cfn = await startCloudFormationStub({ Machinery: outputs });
 * env.AWS_ENDPOINT_URL_CLOUDFORMATION = cfn.endpoint;
 * ```
 */
export interface CloudFormationStub {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** The stack names asked for, in order (one entry per `DescribeStacks`). */
  requests: string[];
  stop(): Promise<void>;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function describeStacksXml(name: string, outputs: readonly StubOutput[]): string {
  const members = outputs
    .map(
      (o) =>
        `<member><OutputKey>${xml(o.OutputKey)}</OutputKey><OutputValue>${xml(o.OutputValue)}</OutputValue>${
          o.Description === undefined ? '' : `<Description>${xml(o.Description)}</Description>`
        }</member>`,
    )
    .join('');
  return (
    '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">' +
    '<DescribeStacksResult><Stacks><member>' +
    `<StackName>${xml(name)}</StackName>` +
    `<StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${xml(name)}/0</StackId>` +
    '<CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>' +
    `<Outputs>${members}</Outputs>` +
    '</member></Stacks></DescribeStacksResult>' +
    '<ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></DescribeStacksResponse>'
  );
}

function errorXml(code: string, message: string): string {
  return (
    '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">' +
    `<Error><Type>Sender</Type><Code>${xml(code)}</Code><Message>${xml(message)}</Message></Error>` +
    '<RequestId>stub</RequestId></ErrorResponse>'
  );
}

/**
 * Starts the stub serving `stacks` (name → outputs).
 *
 * @example
 * ```ts
 * const cfn = await startCloudFormationStub({ Machinery: [{ OutputKey: 'MachineryDlqUrl', OutputValue: url, Description: 'MACHINERY_DLQ_URL' }] });
 * afterAll(() => cfn.stop());
 * ```
 */
export async function startCloudFormationStub(
  stacks: Readonly<Record<string, readonly StubOutput[]>>,
): Promise<CloudFormationStub> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const send = (status: number, text: string) => {
        res.writeHead(status, { 'content-type': 'text/xml' });
        res.end(text);
      };
      if (form.get('Action') !== 'DescribeStacks') {
        send(400, errorXml('InvalidAction', `the stub answers DescribeStacks only`));
        return;
      }
      const name = form.get('StackName') ?? '';
      requests.push(name);
      const outputs = stacks[name];
      if (outputs === undefined) {
        send(400, errorXml('ValidationError', `Stack with id ${name} does not exist`));
        return;
      }
      send(200, describeStacksXml(name, outputs));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
