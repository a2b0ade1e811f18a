import { Construct } from 'constructs';
import type { CompatibilityView } from '../core/plan/types';
import { BqxError } from '../core/errors';
import { assertColumnName, assertDatasetName, assertProjectId, assertTableName } from '../core/identifiers';
import { BigqueryTable } from './google';
import { Labels, mergeLabels } from './labels';

const DAY_MS = 24 * 3600 * 1000;

export interface CompatibilityViewSetProps {
  /** Project of the views and of their targets (the plan's project). */
  readonly project: string;
  /** Dataset of the views and of their targets (the plan's dataset). */
  readonly datasetId: string;
  readonly views: readonly CompatibilityView[];
  /** The clock: views whose grace period ended at or before this instant are left out. */
  readonly now: Date;
  /** Views ending within this many days are listed in `expiringSoon`. @default 3 */
  readonly warnWithinDays?: number;
  readonly labels?: Labels;
  /**
   * Emit a Terraform `import` block per view: for views the runner already created right after its
   * renames (zero downtime), so the stack adopts them instead of failing on "already exists".
   * Import blocks are no-ops for views already in state, but fail for views that do not exist yet,
   * so this is switched on only for batches the runner has applied. @default false
   */
  readonly importExisting?: boolean;
  /**
   * The views a retirement plan dropped (`bqx retire`, applied): when given, exactly these are left
   * out, and a view past its grace period that the retirement kept (still read) stays declared.
   * @default undefined: views are left out when their grace period ends
   */
  readonly retired?: ReadonlySet<string>;
}

export interface ExpiringView {
  readonly name: string;
  readonly graceEnd: string;
  readonly hoursLeft: number;
}

/** The SQL of one view: the old table's columns, in order, from the fully qualified target. */
export function compatibilityViewSql(project: string, datasetId: string, view: CompatibilityView): string {
  const where = `view ${view.name}`;
  assertProjectId(project, `${where}: project`);
  assertDatasetName(datasetId, `${where}: dataset`);
  assertTableName(view.target, `${where}: target`);
  if (view.columns.length === 0) {
    throw new BqxError('INVALID_PLAN', `${where}: no columns`, 'a compatibility view returns the old table\'s columns; re-plan');
  }
  const select = view.columns.map((c) => {
    assertColumnName(c.column, `${where}: column`);
    assertColumnName(c.name, `${where}: output column`);
    return c.name === c.column ? `  \`${c.column}\`` : `  \`${c.column}\` AS \`${c.name}\``;
  });
  const filter = view.filter === null ? '' : `\nWHERE \`${assertColumnName(view.filter, `${where}: filter`)}\``;
  return `SELECT\n${select.join(',\n')}\nFROM \`${project}.${datasetId}.${view.target}\`${filter}`;
}

function graceEndMs(view: CompatibilityView): number {
  const ms = Date.parse(view.graceEnd);
  if (Number.isNaN(ms)) {
    throw new BqxError('INVALID_PLAN', `view ${view.name}: graceEnd ${JSON.stringify(view.graceEnd)} is not a date`, 'graceEnd is an ISO 8601 timestamp; re-plan');
  }
  return ms;
}

/**
 * Compatibility views under names that disappeared, one `google_bigquery_table` each, with
 * `deletion_protection = false` (they are meant to go away) and no explicit schema (BigQuery derives
 * it from the SQL). A view whose grace period has ended is not declared, so its removal is an
 * ordinary reviewed plan; with a retirement plan (`retired`), exactly the views it retired are not
 * declared (`expired` lists them), and views it kept because they are still read stay. Each view's Terraform id is `view_<name>`: stable whatever the set or
 * stack it is in.
 */
export class CompatibilityViewSet extends Construct {
  readonly included: readonly CompatibilityView[];
  readonly expired: readonly CompatibilityView[];
  readonly expiringSoon: readonly ExpiringView[];
  readonly tables: readonly BigqueryTable[];

  constructor(scope: Construct, id: string, props: CompatibilityViewSetProps) {
    super(scope, id);
    const now = props.now.getTime();
    const warnMs = (props.warnWithinDays ?? 3) * DAY_MS;
    const included: CompatibilityView[] = [];
    const expired: CompatibilityView[] = [];
    const expiring: ExpiringView[] = [];
    const retired = props.retired;
    for (const v of props.views) {
      const end = graceEndMs(v);
      if (retired ? retired.has(v.name) : end <= now) {
        expired.push(v);
        continue;
      }
      included.push(v);
      if (end - now <= warnMs) expiring.push({ name: v.name, graceEnd: v.graceEnd, hoursLeft: Math.floor((end - now) / 3600000) });
    }
    const labels = mergeLabels(props.labels, { bqx_object: 'compat-view' });
    this.tables = included.map((v) => {
      const table = new BigqueryTable(this, v.name, {
        project: props.project,
        datasetId: props.datasetId,
        tableId: assertTableName(v.name, 'compatibility view name'),
        // Plan text is kept to safe characters: cdktf's HCL output does not escape backslashes.
        description: `M008 compatibility view for ${v.target} (operation ${v.operationId.replace(/[^A-Za-z0-9_.:-]/g, '')}); grace period ends ${v.graceEnd.replace(/[^0-9A-Za-z:.+-]/g, '')}`,
        deletionProtection: false,
        labels: { ...labels, bqx_grace_end: v.graceEnd.slice(0, 10) },
        view: { query: compatibilityViewSql(props.project, props.datasetId, v), useLegacySql: false },
      });
      table.overrideLogicalId(`view_${v.name}`);
      if (props.importExisting) table.importFrom(`projects/${props.project}/datasets/${props.datasetId}/tables/${v.name}`);
      return table;
    });
    this.included = included;
    this.expired = expired;
    this.expiringSoon = expiring;
  }
}
