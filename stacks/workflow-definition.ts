import { stringify } from 'yaml';
import type { EnvironmentConfig } from '../config/environment';

/**
 * The Cloud Workflows program that replaces the VM batch script: one extract then merge per pair,
 * at most `concurrency` pairs at a time, `PAIR` passed as an env override (the scripts read env,
 * `--args` was ignored). Runtime argument `{"pairs": [...]}` narrows the set; default: every pair.
 * With `continueAll`, one failed pair does not stop the others; the execution fails at the end.
 */
export function workflowDefinition(env: EnvironmentConfig): string {
  const jobPath = (name: string) => `projects/${env.project}/locations/${env.region}/jobs/${name}`;
  const runJob = (name: string, timeoutSeconds: number) => ({
    call: 'googleapis.run.v2.projects.locations.jobs.run',
    args: {
      name: jobPath(name),
      body: { overrides: { containerOverrides: [{ env: [{ name: 'PAIR', value: '${pair}' }] }] } },
      // The connector waits for the execution; allow the job's own timeout plus start-up.
      connector_params: { timeout: timeoutSeconds + 600 },
    },
    result: 'execution',
  });
  const program = {
    main: {
      params: ['args'],
      steps: [
        { init: { assign: [{ pairs: [...env.pairs] }] } },
        // Nested switches rather than one `and`: args is null when the execution has no argument.
        {
          choosePairs: {
            switch: [
              {
                condition: '${args != null}',
                steps: [{ hasPairs: { switch: [{ condition: '${"pairs" in args}', steps: [{ useArgument: { assign: [{ pairs: '${args.pairs}' }] } }] }] } }],
              },
            ],
          },
        },
        {
          fanOut: {
            parallel: {
              concurrency_limit: env.orchestration.concurrency,
              exception_policy: 'continueAll',
              for: {
                value: 'pair',
                in: '${pairs}',
                steps: [
                  { extract: runJob(env.jobs.extract.name, env.jobs.extract.timeoutSeconds) },
                  { merge: runJob(env.jobs.merge.name, env.jobs.merge.timeoutSeconds) },
                ],
              },
            },
          },
        },
        { done: { return: '${pairs}' } },
      ],
    },
  };
  return stringify(program, { lineWidth: 0 });
}
