import { Construct } from 'constructs';
import { GcsBackend, TerraformStack } from 'cdktf';
import type { EnvironmentConfig } from '../config/environment';
import { GoogleProvider } from '../constructs/google';

export interface BqxStackProps {
  readonly env: EnvironmentConfig;
  /** Extra provider settings (the budget API needs a quota project). */
  readonly userProjectOverride?: boolean;
}

/**
 * A stack of one environment: the Google provider pinned to the environment's project and region,
 * and its own GCS backend prefix `<prefixRoot>/<stack id>` in the state bucket. The stack id is API:
 * it names the state prefix and the cdktf.out directory.
 */
/** The stack id of the foundation (identities, federation, project IAM): its state is break glass's alone. */
export const FOUNDATION_STACK = 'foundation';

export class BqxStack extends TerraformStack {
  readonly env: EnvironmentConfig;
  readonly labels: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: BqxStackProps) {
    super(scope, id);
    this.env = props.env;
    this.labels = { ...props.env.labels, stack: id.replace(/[^a-z0-9_-]/g, '-') };
    new GoogleProvider(this, 'google', {
      project: props.env.project,
      region: props.env.region,
      ...(props.userProjectOverride ? { userProjectOverride: true, billingProject: props.env.project } : {}),
    });
    // The foundation stack's state lives in its own bucket, which only break glass writes.
    const bucket = id === FOUNDATION_STACK ? props.env.state.foundationBucket : props.env.state.bucket;
    new GcsBackend(this, { bucket, prefix: `${props.env.state.prefixRoot}/${id}` });
  }
}
