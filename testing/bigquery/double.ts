/**
 * A local stand-in for the BigQuery REST v2 API, for the official client pointed at it with
 * `apiEndpoint`. It keeps an in-memory catalogue, runs query jobs after a modelled latency,
 * interprets the DDL and ledger DML the engine emits (enough to keep its catalogue true), counts
 * how often each job id and each statement ran, enforces per-table metadata limits and a job
 * concurrency limit, and injects faults on request.
 *
 * It is not BigQuery: statements it does not recognise fail with `invalidQuery`, so an engine
 * change that emits something new is noticed rather than silently accepted.
 *
 * With an IAM model (`double.iam`, double/iam.ts: grants loaded from the synthesized stacks) it is
 * also a per-caller authorizer: each bearer token is an identity, every request needs what the
 * runner's permission table (config/runner-permissions.ts) says the statement or call needs
 * (double/authorize.ts), and a denial answers like BigQuery's (403 accessDenied naming the
 * permission). Without one it is permissive. Every jobs.insert is recorded with its labels and
 * caller (`inserts`).
 *
 * This is the one entry point; the parts live in double/: types.ts (shared shapes), sql.ts (the
 * interpreter), model.ts (catalogue, jobs, limits, faults, counters), routing.ts (the REST surface),
 * iam.ts (identities and grants), authorize.ts (what each request needs).
 */
import { DoubleModel } from './double/model';
import { RestServer } from './double/routing';

export type { Authorization, DoubleColumn, DoubleOptions, DoubleTable, Fault, FaultKind, InsertRecord, LatencyModel } from './double/types';
export { mulberry32 } from './double/model';
export { IamModel, describeResource, type IamGrant, type IamResource } from './double/iam';
export { NEEDS_FIXTURE, needsOn, needsRow, type NeedKind, type NeedOn, type NeedsRow } from './double/needs-fixture';

export class BigQueryDouble extends DoubleModel {
  private readonly rest = new RestServer(this);
  endpoint = '';

  async start(): Promise<string> {
    this.endpoint = await this.rest.start();
    return this.endpoint;
  }

  async stop(): Promise<void> {
    await this.rest.stop();
  }
}
