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
    new GcsBackend(this, { bucket: props.env.state.bucket, prefix: `${props.env.state.prefixRoot}/${id}` });
  }
}
