import { Construct } from 'constructs';
import { CloudRunV2Job, CloudRunV2JobIamMember, ServiceAccount } from './google';
import { IPrincipal, ServiceAccountPrincipal } from './principal';
import { Grant, GrantTable, IGrantTarget, IamCondition } from './grants';
import { Labels, mergeLabels } from './labels';

export interface PipelineJobProps {
  /** Cloud Run job name. */
  readonly jobName: string;
  /** Region. @default 'us-central1' */
  readonly location?: string;
  /** @default the provider's project */
  readonly project?: string;
  /** Full image reference (Artifact Registry, by tag or digest). */
  readonly image: string;
  /** @default '1' */
  readonly cpu?: string;
  /** @default '512Mi' */
  readonly memory?: string;
  /** Task timeout in seconds. @default 600 */
  readonly timeoutSeconds?: number;
  /**
   * Retries per failed task. @default 0: a retry of a long extract ran into its timeout and cost
   * money in the original system, so retrying is an explicit decision.
   */
  readonly maxRetries?: number;
  /** Container environment (the scripts read env, not args). @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** Entrypoint. @default the image's */
  readonly command?: readonly string[];
  /** Arguments. @default the image's */
  readonly args?: readonly string[];
  /**
   * Identity the job runs as. @default a new service account `<jobName>` owned by this construct.
   * Pass one to use an identity declared elsewhere (the foundation stack).
   */
  readonly serviceAccount?: ServiceAccountPrincipal;
  /** @default true (the provider's default); dev turns it off */
  readonly deletionProtection?: boolean;
  readonly labels?: Labels;
}

/** A Cloud Run v2 job, one task per execution, running as its own service account. */
export class PipelineJob extends Construct implements IGrantTarget {
  readonly resource: CloudRunV2Job;
  readonly jobName: string;
  readonly serviceAccount: ServiceAccountPrincipal;
  /** Set when this construct created the account. */
  readonly serviceAccountResource?: ServiceAccount;
  private readonly grants: GrantTable<CloudRunV2JobIamMember>;

  constructor(scope: Construct, id: string, props: PipelineJobProps) {
    super(scope, id);
    this.jobName = props.jobName;
    if (props.serviceAccount) {
      this.serviceAccount = props.serviceAccount;
    } else {
      const accountId = props.jobName.slice(0, 30).replace(/-+$/, '');
      this.serviceAccountResource = new ServiceAccount(this, 'service-account', {
        accountId,
        displayName: `Cloud Run job ${props.jobName}`,
        project: props.project,
      });
      this.serviceAccount = new ServiceAccountPrincipal(this.serviceAccountResource.email);
    }
    const env = Object.entries(props.env ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => ({ name, value }));
    this.resource = new CloudRunV2Job(this, 'job', {
      name: props.jobName,
      location: props.location ?? 'us-central1',
      project: props.project,
      deletionProtection: props.deletionProtection ?? true,
      labels: mergeLabels(props.labels),
      template: {
        taskCount: 1,
        parallelism: 1,
        template: {
          serviceAccount: this.serviceAccount.email,
          timeout: `${props.timeoutSeconds ?? 600}s`,
          maxRetries: props.maxRetries ?? 0,
          containers: [
            {
              image: props.image,
              command: props.command ? [...props.command] : undefined,
              args: props.args ? [...props.args] : undefined,
              env,
              resources: { limits: { cpu: props.cpu ?? '1', memory: props.memory ?? '512Mi' } },
            },
          ],
        },
      },
    });
    this.grants = new GrantTable(this, (grantId, role, member) =>
      new CloudRunV2JobIamMember(this, grantId, { name: this.resource.name, location: this.resource.location, project: this.resource.project, role, member }),
    );
  }

  /** Start executions as configured (roles/run.invoker on this job). */
  grantInvoke(principal: IPrincipal): Grant<CloudRunV2JobIamMember> {
    return this.grant(principal, 'roles/run.invoker');
  }

  /** Start executions with overrides, e.g. env `PAIR` (roles/run.developer on this job). */
  grantExecuteWithOverrides(principal: IPrincipal): Grant<CloudRunV2JobIamMember> {
    return this.grant(principal, 'roles/run.developer');
  }

  /** Grants any job-level role; the same grant twice is refused (it would be two resources). */
  grant(principal: IPrincipal, role: string, condition?: IamCondition): Grant<CloudRunV2JobIamMember> {
    return this.grants.add(principal, role, condition); // a condition is refused: these bindings render none
  }
}
