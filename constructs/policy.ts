import { IConstruct } from 'constructs';
import { Annotations, IAspect, TerraformResource, Token } from 'cdktf';
import { RUNNER_RENAMES_LABEL } from './managed-dataset';

/**
 * Platform policy as aspects. Each rule inspects the synthesized configuration of a resource (its
 * `*Input` values, what goes into cdk.tf.json) and adds an error annotation on a violation, so
 * synthesis fails with `[construct path] policy <rule>: <what>` for every violation at once.
 */

export const POLICY_RULES = [
  'no-primitive-roles',
  'no-public-members',
  'no-service-account-keys',
  'bucket-hardening',
  'labels-required',
  'dataset-access-model',
  'no-expiration-where-runner-renames',
  'naming-conventions',
] as const;
export type PolicyRule = (typeof POLICY_RULES)[number];

const PRIMITIVE_ROLES = new Set(['roles/owner', 'roles/editor', 'roles/viewer']);
const PUBLIC_MEMBERS = new Set(['allUsers', 'allAuthenticatedUsers']);
const KEY_TYPES = new Set(['google_service_account_key', 'google_storage_hmac_key', 'google_apikeys_key']);

/** The platform's naming conventions by resource type and attribute. */
export const NAMING_CONVENTIONS: Readonly<Record<string, { readonly attribute: string; readonly pattern: RegExp; readonly hint: string }>> = {
  google_bigquery_dataset: { attribute: 'datasetIdInput', pattern: /^bqx_[a-z0-9]+(_[a-z0-9]+)*$/, hint: 'bqx_<snake_case>' },
  google_storage_bucket: { attribute: 'nameInput', pattern: /^bqx-ml(-[a-z0-9]+)+$/, hint: 'bqx-ml-<kebab-case>' },
  google_service_account: { attribute: 'accountIdInput', pattern: /^bqx-ml-[a-z0-9]+(-[a-z0-9]+)*$/, hint: 'bqx-ml-<kebab-case>' },
  google_cloud_run_v2_job: { attribute: 'nameInput', pattern: /^bqx-ml-[a-z0-9]+(-[a-z0-9]+)*$/, hint: 'bqx-ml-<kebab-case>' },
  google_workflows_workflow: { attribute: 'nameInput', pattern: /^bqx-ml-[a-z0-9]+(-[a-z0-9]+)*$/, hint: 'bqx-ml-<kebab-case>' },
  google_artifact_registry_repository: { attribute: 'repositoryIdInput', pattern: /^bqx-ml(-[a-z0-9]+)*$/, hint: 'bqx-ml[-<kebab-case>]' },
  google_bigquery_table: { attribute: 'tableIdInput', pattern: /^[A-Za-z0-9_]{1,1024}$/, hint: 'letters, digits and "_"' },
};

export interface PlatformPolicyProps {
  /** Label keys every labellable resource must carry. */
  readonly requiredLabels: readonly string[];
  /** Datasets the migration runner renames in (besides those labelled so). */
  readonly runnerDatasets: readonly string[];
  /** Rules to skip, each with the reason (kept in the construct tree, visible in review). */
  readonly exemptions?: Readonly<Partial<Record<PolicyRule, string>>>;
}

type Attrs = Record<string, unknown>;
const literal = (v: unknown): v is string => typeof v === 'string' && !Token.isUnresolved(v);

export class PlatformPolicy implements IAspect {
  constructor(private readonly props: PlatformPolicyProps) {}

  visit(node: IConstruct): void {
    if (!TerraformResource.isTerraformResource(node)) return;
    const resource = node as TerraformResource & Attrs;
    const type = resource.terraformResourceType;
    const fail = (rule: PolicyRule, message: string): void => {
      if (this.props.exemptions?.[rule] !== undefined) return;
      Annotations.of(node).addError(`policy ${rule}: ${type} ${message}`);
    };
    const get = (attr: string): unknown => (attr in resource ? resource[attr] : undefined);

    const role = get('roleInput');
    if (literal(role) && PRIMITIVE_ROLES.has(role)) fail('no-primitive-roles', `grants the primitive role ${role}`);

    const members = [get('memberInput'), ...((get('membersInput') as unknown[] | undefined) ?? [])];
    for (const m of members) {
      if (literal(m) && PUBLIC_MEMBERS.has(m)) fail('no-public-members', `grants to ${m}`);
    }

    if (KEY_TYPES.has(type)) fail('no-service-account-keys', 'is a long-lived key; use Workload Identity Federation or attached service accounts');

    if (type === 'google_storage_bucket') {
      if (get('uniformBucketLevelAccessInput') !== true) fail('bucket-hardening', 'does not enforce uniform bucket-level access');
      if (get('publicAccessPreventionInput') !== 'enforced') fail('bucket-hardening', 'does not enforce public access prevention');
    }

    // user_labels first: where a resource has both (google_monitoring_notification_channel), `labels`
    // is the channel's own configuration (email_address), not resource labels.
    const labelAttr = 'userLabelsInput' in resource ? 'userLabelsInput' : 'labelsInput' in resource ? 'labelsInput' : null;
    if (labelAttr) {
      const labels = (get(labelAttr) as Record<string, string> | undefined) ?? {};
      const missing = this.props.requiredLabels.filter((k) => !labels[k]);
      if (missing.length) fail('labels-required', `is missing labels ${missing.join(', ')}`);
    }

    if (type === 'google_bigquery_dataset') {
      const access = get('accessInput');
      if (access !== undefined && !(Array.isArray(access) && access.length === 0)) {
        fail('dataset-access-model', 'uses the inline access block; grant with google_bigquery_dataset_iam_member only');
      }
      const datasetId = get('datasetIdInput');
      const labels = (get('labelsInput') as Record<string, string> | undefined) ?? {};
      const renamedIn = labels[RUNNER_RENAMES_LABEL] === 'true' || (literal(datasetId) && this.props.runnerDatasets.includes(datasetId));
      if (renamedIn && (get('defaultTableExpirationMsInput') !== undefined || get('defaultPartitionExpirationMsInput') !== undefined)) {
        fail('no-expiration-where-runner-renames', `${String(datasetId)} has a default expiration but the runner renames in it (a renamed table keeps its creation time)`);
      }
    }

    const convention = NAMING_CONVENTIONS[type];
    if (convention) {
      const name = get(convention.attribute);
      if (literal(name) && !convention.pattern.test(name)) fail('naming-conventions', `name ${JSON.stringify(name)} does not follow ${convention.hint}`);
    }
  }
}
