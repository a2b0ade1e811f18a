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
 * This is the one entry point; the parts live in double/: types.ts (shared shapes), sql.ts (the
 * interpreter), model.ts (catalogue, jobs, limits, faults, counters), routing.ts (the REST surface).
 */
import { DoubleModel } from './double/model';
import { RestServer } from './double/routing';

export type { DoubleColumn, DoubleOptions, DoubleTable, Fault, FaultKind, LatencyModel } from './double/types';
export { mulberry32 } from './double/model';

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
