import * as path from 'path';
import { writeMetricsFile } from './metrics';
import { writeRunReports } from './render';
import type { RunSummary } from '../../core/report/summary';

export const DEFAULT_REPORTS_DIR = 'reports';
export const DEFAULT_METRICS_FILE = path.join(DEFAULT_REPORTS_DIR, 'metrics.prom');

export interface EvidenceFiles {
  readonly markdown: string;
  readonly json: string;
  readonly metrics: string;
}

/** Every run leaves its evidence: Markdown + JSON report and the metrics textfile. */
export async function writeEvidence(summary: RunSummary, opts: { reportsDir?: string; metricsFile?: string }): Promise<EvidenceFiles> {
  const reports = writeRunReports(opts.reportsDir ?? DEFAULT_REPORTS_DIR, summary);
  const metrics = opts.metricsFile ?? DEFAULT_METRICS_FILE;
  await writeMetricsFile(metrics, summary);
  return { ...reports, metrics };
}
