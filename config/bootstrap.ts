import type { EnvironmentConfig } from './environment';
import { serviceAccountEmail } from './environment';

/**
 * What no stack can do for itself, as exact commands per environment: the state bucket (it holds
 * every stack's state), the first foundation apply (it creates the identities that apply
 * everything afterwards), roles on the billing account (budgets are billing-account resources; a
 * project-level identity cannot grant itself a role there), the GitHub environments and variables
 * the workflows rely on, and the break-glass apply of later foundation changes. RUNBOOK.md
 * ("Bootstrap and break glass") shows these commands; a test keeps the two identical.
 */
export interface BootstrapStep {
  readonly id: string;
  /** Who runs it (which role they need). */
  readonly who: string;
  readonly commands: readonly string[];
}

export function bootstrapSteps(env: EnvironmentConfig): BootstrapStep[] {
  const sa = (k: keyof EnvironmentConfig['serviceAccounts']) => serviceAccountEmail(env, env.serviceAccounts[k]);
  const bucket = `gs://${env.state.bucket}`;
  const foundationBucket = `gs://${env.state.foundationBucket}`;
  const gh = `repos/${env.ci.repository}`;
  const protectedBranches = '{"protected_branches":true,"custom_branch_policies":false}';
  return [
    {
      id: 'state-bucket',
      who: `a project owner of ${env.project}, once`,
      commands: [
        `gcloud storage buckets create ${bucket} --project=${env.project} --location=${env.region} --uniform-bucket-level-access --public-access-prevention`,
        `gcloud storage buckets update ${bucket} --versioning`,
        // The foundation stack's state, apart: no stack declares this bucket, so only these grants reach it.
        `gcloud storage buckets create ${foundationBucket} --project=${env.project} --location=${env.region} --uniform-bucket-level-access --public-access-prevention`,
        `gcloud storage buckets update ${foundationBucket} --versioning`,
      ],
    },
    {
      id: 'first-foundation-apply',
      who: `a project owner of ${env.project}, once (it creates the break-glass identity; every later foundation change is break glass)`,
      commands: [
        `export BQX_GITHUB_REPOSITORY_ID=$(gh api ${gh} --jq .id) BQX_GITHUB_REPOSITORY_OWNER_ID=$(gh api ${gh} --jq .owner.id)`,
        `node bin/bqx.js synth --env ${env.name} --out cdktf.out`,
        'cd cdktf.out/stacks/foundation && terraform init -input=false && terraform plan -input=false -out=tfplan && terraform apply -input=false tfplan',
      ],
    },
    {
      id: 'foundation-state-access',
      who: `a project owner of ${env.project}, once, after the first foundation apply (it created these identities)`,
      commands: [
        `gcloud storage buckets add-iam-policy-binding ${foundationBucket} --member=serviceAccount:${sa('breakGlass')} --role=roles/storage.objectUser`,
        `gcloud storage buckets add-iam-policy-binding ${foundationBucket} --member=serviceAccount:${sa('ciPlanner')} --role=roles/storage.objectViewer`,
        `gcloud storage buckets add-iam-policy-binding ${foundationBucket} --member=serviceAccount:${sa('ciDrift')} --role=roles/storage.objectViewer`,
      ],
    },
    {
      id: 'billing-roles',
      who: 'a billing account administrator of $BQX_BILLING_ACCOUNT',
      commands: [
        `gcloud billing accounts add-iam-policy-binding "$BQX_BILLING_ACCOUNT" --member=serviceAccount:${sa('ciDeployer')} --role=${env.budget.deployerRole}`,
        `gcloud billing accounts add-iam-policy-binding "$BQX_BILLING_ACCOUNT" --member=serviceAccount:${sa('ciPlanner')} --role=${env.budget.plannerRole}`,
        `gcloud billing accounts add-iam-policy-binding "$BQX_BILLING_ACCOUNT" --member=serviceAccount:${sa('ciDrift')} --role=${env.budget.plannerRole}`,
      ],
    },
    {
      id: 'github',
      who: `an administrator of ${env.ci.repository}`,
      commands: [
        env.ci.deployEnvironment === 'production'
          ? `gh api -X PUT ${gh}/environments/production --input - <<< '{"prevent_self_review":true,"reviewers":[{"type":"Team","id":'"$REVIEWERS_TEAM_ID"'}],"deployment_branch_policy":${protectedBranches}}'`
          : `gh api -X PUT ${gh}/environments/${env.ci.deployEnvironment} --input - <<< '{"deployment_branch_policy":${protectedBranches}}'`,
        ...(env.name === 'dev'
          ? [`gh variable set BQX_DEV_WIF_PROVIDER --repo ${env.ci.repository} --body "projects/$(gcloud projects describe ${env.project} --format='value(projectNumber)')/locations/global/workloadIdentityPools/${env.ci.poolId}/providers/${env.ci.providerId}"`]
          : [
              `gh variable set BQX_GITHUB_REPOSITORY_ID --repo ${env.ci.repository} --body "$(gh api ${gh} --jq .id)"`,
              `gh variable set BQX_GITHUB_REPOSITORY_OWNER_ID --repo ${env.ci.repository} --body "$(gh api ${gh} --jq .owner.id)"`,
              `gh variable set BQX_BILLING_ACCOUNT --repo ${env.ci.repository} --body "$BQX_BILLING_ACCOUNT"`,
            ]),
      ],
    },
    {
      id: 'break-glass-apply',
      who: `a member of ${env.groups.platformAdmins} (token creator on ${sa('breakGlass')})`,
      commands: [
        'gcloud auth application-default login',
        `export GOOGLE_IMPERSONATE_SERVICE_ACCOUNT=${sa('breakGlass')}`,
        `gh run download "$RUN_ID" --repo ${env.ci.repository} --name plan-${env.name}-foundation --dir plan-${env.name}-foundation`,
        `cd plan-${env.name}-foundation && jq -r .commit plan-meta.json && terraform show -no-color tfplan && terraform init -input=false && terraform apply -input=false tfplan`,
      ],
    },
  ];
}

/**
 * How operators act as the runner (RUNBOOK "Running as the runner"): impersonate it for `bqx`
 * commands from a workstation (token creator on the runner's account), or execute its Cloud Run
 * job: as configured (the paper run of the plan baked into the image), or with the arguments of
 * the real apply (run.jobs.runWithOverrides).
 */
export function runnerCommands(env: EnvironmentConfig): { impersonate: string; paperRun: string; apply: string; logs: string } {
  const job = env.jobs.runner;
  const args = (job.args ?? []).filter((a) => a !== '--dry-run');
  return {
    impersonate: `gcloud auth application-default login --impersonate-service-account=${serviceAccountEmail(env, env.serviceAccounts.runner)}`,
    paperRun: `gcloud run jobs execute ${job.name} --project=${env.project} --region=${env.region} --wait`,
    apply: `gcloud run jobs execute ${job.name} --project=${env.project} --region=${env.region} --wait --args=${[...args, '--approve', '<planHash>'].join(',')}`,
    logs: `gcloud logging read 'resource.type="cloud_run_job" AND resource.labels.job_name="${job.name}"' --project=${env.project} --limit=200`,
  };
}
