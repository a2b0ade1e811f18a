/**
 * The identity, bootstrap and deploy sections of RUNBOOK.md stay true to the config and the
 * synthesized stacks: every bootstrap command of config/bootstrap.ts appears verbatim, the state
 * bucket import names the data stack's real address, and the identity table has a row per identity.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing, TerraformStack } from 'cdktf';
import { loadEnvironment } from '../../config/environments';
import { IDENTITY_KEYS } from '../../config/environment';
import { bootstrapSteps, runnerCommands } from '../../config/bootstrap';
import { buildPlatform } from '../../stacks/platform';
import { disableTokenStackTraces } from '../../stacks/token-stack-traces';
import { PINNED_NOW, Tf } from './helpers';

disableTokenStackTraces();
const ROOT = path.join(__dirname, '..', '..');
const runbook = fs.readFileSync(path.join(ROOT, 'RUNBOOK.md'), 'utf8');
/** A numbered RUNBOOK section by its title (whatever its number). */
const section = (title: string) => runbook.split(new RegExp(`^## \\d+\\. ${title}$`, 'm'))[1]?.split(/^## /m)[0] ?? '';

describe('RUNBOOK: identities, bootstrap, deploy', () => {
  it('shows every prod bootstrap command verbatim, and the dev-only GitHub ones', () => {
    const prod = loadEnvironment('prod');
    const missing = bootstrapSteps(prod).flatMap((s) => s.commands.filter((c) => !runbook.includes(c)).map((c) => `${s.id}: ${c}`));
    expect(missing).toEqual([]);
    const devGithub = bootstrapSteps(loadEnvironment('dev')).find((s) => s.id === 'github')!;
    expect(devGithub.commands.filter((c) => !runbook.includes(c))).toEqual([]);
  });

  it('shows how operators act as the runner (impersonation, paper run, apply, logs)', () => {
    const cmds = runnerCommands(loadEnvironment('prod'));
    expect(Object.entries(cmds).filter(([, c]) => !section('Running as the runner').includes(c))).toEqual([]);
    expect(cmds.apply).not.toContain('--dry-run');
    expect(cmds.apply).toContain('--approve,<planHash>');
  });

  it('imports the state bucket at the address the data stack gives it', () => {
    const env = loadEnvironment('prod');
    const { stacks } = buildPlatform(Testing.app(), { env, plan: null, now: PINNED_NOW });
    const data = JSON.parse(Testing.synth(stacks.find((s) => s.node.id === 'data') as TerraformStack)) as Tf;
    const [address] = Object.entries(data.resource.google_storage_bucket).find(([, b]) => b.name === env.state.bucket)!;
    expect(runbook).toContain(`terraform import -input=false google_storage_bucket.${address} ${env.state.bucket}`);
  });

  it('has the identity table: a row per identity and group, saying what, where and how it authenticates', () => {
    const table = section('Identities: who can do what');
    expect(table).toMatch(/^\| identity \| what it can do \| where \| how it authenticates \|$/m);
    const env = loadEnvironment('prod');
    for (const k of IDENTITY_KEYS) expect({ k, row: table.includes(`\`${env.serviceAccounts[k]}\``) }).toEqual({ k, row: true });
    for (const g of ['group: operators', 'group: platform admins']) expect(table).toContain(g);
    expect(table).toContain('repo:bqx-ml/bqx-platform:environment:production');
  });
});
