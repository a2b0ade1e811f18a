import { Construct } from 'constructs';
import { BigqueryDataset, BigqueryDatasetIamMember } from './google';
import { IPrincipal } from './principal';
import { Grant, GrantTable, IGrantTarget, IamCondition } from './grants';
import { Labels, mergeLabels } from './labels';

/** The label that marks a dataset the migration runner renames in (the runner and the policy read it). */
export const RUNNER_RENAMES_LABEL = 'bqx_runner_renames';

export interface ManagedDatasetProps {
  /** Dataset id (also the BigQuery name). */
  readonly datasetId: string;
  readonly description: string;
  /** BigQuery location. @default 'us-central1' */
  readonly location?: string;
  /** @default the provider's project */
  readonly project?: string;
  /**
   * Default table expiration in days. Only for scratch datasets.
   * @default none (tables never expire by default)
   */
  readonly defaultTableExpirationDays?: number;
  /**
   * The migration runner renames tables here: a renamed table keeps its creation time, so a
   * default expiration could delete it at once. Setting this with an expiration is refused.
   * @default false
   */
  readonly runnerRenamesIn?: boolean;
  /** @default false: a `terraform destroy` never deletes tables */
  readonly deleteContentsOnDestroy?: boolean;
  /** @default {} (the stack's labels are added by the caller) */
  readonly labels?: Labels;
}

/**
 * A BigQuery dataset whose access is managed only through `google_bigquery_dataset_iam_member`
 * resources (never the inline `access` block: the two fight in the provider).
 */
export class ManagedDataset extends Construct implements IGrantTarget {
  readonly resource: BigqueryDataset;
  readonly datasetId: string;
  private readonly grants: GrantTable<BigqueryDatasetIamMember>;

  constructor(scope: Construct, id: string, props: ManagedDatasetProps) {
    super(scope, id);
    if (props.runnerRenamesIn && props.defaultTableExpirationDays !== undefined) {
      throw new Error(`${this.node.path}: dataset ${props.datasetId} is renamed in by the runner and must not have a default table expiration`);
    }
    this.datasetId = props.datasetId;
    this.resource = new BigqueryDataset(this, 'dataset', {
      datasetId: props.datasetId,
      description: props.description,
      location: props.location ?? 'us-central1',
      project: props.project,
      defaultTableExpirationMs:
        props.defaultTableExpirationDays === undefined ? undefined : props.defaultTableExpirationDays * 24 * 3600 * 1000,
      deleteContentsOnDestroy: props.deleteContentsOnDestroy ?? false,
      labels: mergeLabels(props.labels, props.runnerRenamesIn ? { [RUNNER_RENAMES_LABEL]: 'true' } : undefined),
    });
    this.grants = new GrantTable(this, (grantId, role, member) =>
      new BigqueryDatasetIamMember(this, grantId, { datasetId: this.resource.datasetId, project: this.resource.project, role, member }),
    );
  }

  /** Read tables and views (roles/bigquery.dataViewer). */
  grantRead(principal: IPrincipal): Grant<BigqueryDatasetIamMember> {
    return this.grant(principal, 'roles/bigquery.dataViewer');
  }

  /** Create, update, delete and rename tables (roles/bigquery.dataEditor). */
  grantWrite(principal: IPrincipal): Grant<BigqueryDatasetIamMember> {
    return this.grant(principal, 'roles/bigquery.dataEditor');
  }

  /** Read table metadata only (roles/bigquery.metadataViewer). */
  grantMetadataRead(principal: IPrincipal): Grant<BigqueryDatasetIamMember> {
    return this.grant(principal, 'roles/bigquery.metadataViewer');
  }

  /** Grants any dataset-level role; the same grant twice is refused (it would be two resources). */
  grant(principal: IPrincipal, role: string, condition?: IamCondition): Grant<BigqueryDatasetIamMember> {
    return this.grants.add(principal, role, condition); // a condition is refused: these bindings render none
  }
}
