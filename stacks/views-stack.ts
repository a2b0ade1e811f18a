import { Construct } from 'constructs';
import type { CompatibilityView } from '../core/plan/types';
import type { EnvironmentConfig } from '../config/environment';
import { CompatibilityViewSet } from '../constructs/compatibility-view-set';
import { checkTestHooks } from '../core/test-hooks';
import { BqxStack } from './bqx-stack';

export interface ViewsStackProps {
  readonly env: EnvironmentConfig;
  readonly project: string;
  readonly dataset: string;
  readonly planHash: string;
  readonly views: readonly CompatibilityView[];
  readonly now: Date;
  /** Views a retirement plan dropped: exactly these are left out (see CompatibilityViewSet). */
  readonly retired?: ReadonlySet<string>;
}

/** One shard of the compatibility views (a few hundred resources, so its plan and refresh stay quick). */
export class ViewsStack extends BqxStack {
  readonly viewSet: CompatibilityViewSet;

  constructor(scope: Construct, id: string, props: ViewsStackProps) {
    super(scope, id, { env: props.env });
    this.viewSet = new CompatibilityViewSet(this, 'views', {
      project: props.project,
      datasetId: props.dataset,
      views: props.views,
      now: props.now,
      warnWithinDays: props.env.views.warnWithinDays,
      importExisting: props.env.views.importExisting,
      retired: props.retired,
      // No plan-hash label: a regenerated plan would otherwise rewrite the labels of every view
      // in the next `terraform plan`, burying the real changes of a PR under thousands of updates.
      labels: this.labels,
    });
  }

  /**
   * cdktf's preparing pass resolves every resource once more only to discover cross-stack
   * references. A views stack holds literal values only (names, SQL, labels: no references to
   * any stack), so the pass finds nothing and costs a quarter of synth time at 2,500 views. A test
   * checks the output is identical with and without it (BQX_FULL_PREPARE=1, a test hook).
   */
  override prepareStack(): void {
    if (process.env.BQX_FULL_PREPARE === '1') {
      checkTestHooks();
      return super.prepareStack();
    }
    this.ensureBackendExists();
  }
}
