import type { RunVerbResult } from '../../app/runs';
import { emit } from '../options';

/** A run's summary (JSON or text) and where its evidence went; a refusal is then raised as the error. */
export function printRun(r: RunVerbResult, json: boolean, text: () => string): void {
  emit(json, r.summary, () => `${text()}\n  reports: ${r.files.markdown}, ${r.files.json}; metrics: ${r.files.metrics}`);
  if (r.refusal) throw r.refusal;
}
