import { randomBytes } from 'crypto';
import { sha256 } from '../plan/hash';
import { hostname } from 'os';


/** Unique per run; sortable by start time. Not used as a metric label. */
export function newRunId(now: Date = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `run_${t}_${randomBytes(4).toString('hex')}`;
}

/**
 * Deterministic job id: a retried submit of the same step in the same attempt reuses it, so the
 * engine can tell "already ran" from "never ran" after an unknown outcome.
 */
export function jobIdFor(planHash: string, operationId: string, stepIndex: number, attempt: number): string {
  return `bqx_${planHash.slice(0, 12)}_${operationId}_s${stepIndex}_a${attempt}`;
}

/**
 * Deterministic job id of an undo step, from what the step does (never its position: a re-run after
 * a crash recomputes the undo list from the warehouse, so positions shift, and a reused id would
 * make BigQuery answer with an earlier, different step's job). Fresh per apply attempt and per
 * failed undo, so a step undone again later is a new job.
 */
export function undoJobIdFor(planHash: string, operationId: string, stepKey: string, applyAttempt: number, undoFailures: number): string {
  return `bqx_${planHash.slice(0, 12)}_${operationId}_rb${undoFailures}_${sha256(stepKey).slice(0, 16)}_a${applyAttempt}`;
}

const MAX_TABLE_NAME = 1024;

/**
 * Where a dropped table is kept (in the runner dataset) so rollback can restore it. One name per
 * attempt: a backup taken just before a crash, whose ledger record was lost, is never overwritten or
 * collided with; the ledger records which backup each drop relied on.
 */
export function backupNameFor(operationId: string, table: string, attempt: number): string {
  const prefix = `bk_${operationId.replace(/^op_/, '')}_a${attempt}_`;
  const name = `${prefix}${table}`;
  return name.length <= MAX_TABLE_NAME ? name : `${prefix}${sha256(table).slice(0, 32)}`;
}

/** host:pid of this process, as lock events record it. */
export function holderId(): string {
  return `${hostname()}:${process.pid}`;
}
