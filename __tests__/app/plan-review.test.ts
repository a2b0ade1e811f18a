/**
 * The review file beside the plan (app/plan-review.ts): round-trip facts against the committed
 * Phase 4C plan of the full catalogue, and `bqx plan` writing it next to the plan file.
 */
import { existsSync, readFileSync, statSync } from 'fs';
import * as path from 'path';
import { ACTION_MARKERS, planReview, REVIEW_FORMAT, reviewFileFor } from '../../app/plan-review';
import { runPlan } from '../../app/plan';
import { loadPlanFile } from '../../core/plan/load';
import type { Plan } from '../../core/plan/types';
import { repoPath } from '../../core/paths';
import { engineOptions, seedSmall, tempDir } from '../duckdb/support';

const planFile = repoPath('plans', 'phase-4c.plan.json');
const plan = loadPlanFile(planFile);
const text = planReview(plan);
const lines = text.trimEnd().split('\n');
const body = lines.filter((l) => /^(  [?~-]|-\/\+) +\d+ op_/.test(l));
/** A body line without its marker, split into seq, id, batch, action, reason, … */
const fields = (l: string) => l.slice(4).trim().split(/\s+/);
const keepLines = lines.filter((l) => l.startsWith('KEEP '));

describe('review file of the committed Phase 4C plan (full catalogue)', () => {
  test('every operation but KEEP appears exactly once, with its id: REVIEW first, then the changes in plan order', () => {
    const listed = plan.operations.filter((o) => o.action !== 'KEEP');
    expect(body).toHaveLength(listed.length);
    const hits = new Map<string, number>();
    for (const m of text.matchAll(/op_[0-9a-f]{16}/g)) hits.set(m[0], (hits.get(m[0]) ?? 0) + 1);
    const wrong = plan.operations.filter((op) => (hits.get(op.id) ?? 0) !== (op.action === 'KEEP' ? 0 : 1)).map((op) => op.id);
    expect(wrong).toEqual([]);
    expect(hits.size).toBe(listed.length);
    const actions = body.map((l) => fields(l)[3]);
    const reviews = actions.filter((a) => a === 'REVIEW').length;
    expect(reviews).toBe(3);
    expect(actions.slice(0, reviews)).toEqual(['REVIEW', 'REVIEW', 'REVIEW']);
    const seqs = body.slice(reviews).map((l) => Number(fields(l)[0]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const bySeq = new Map(plan.operations.map((o) => [o.seq, o]));
    const mismatched = body.filter((l) => {
      const [seq, id, batch, action, reason] = fields(l);
      const op = bySeq.get(Number(seq));
      const move = `${op?.sources.join(' + ')}${op?.target ? ` -> ${op.target}` : ''}`;
      return !op || !l.startsWith(`${ACTION_MARKERS[op.action]} `) || id !== op.id || batch !== `b${op.batch}` || action !== op.action || reason !== op.reason || !l.includes(` ${move}`);
    });
    expect(mismatched).toEqual([]);
  });

  test('every table the plan drops is marked as terraform marks a destroy and spelled DROP: - for DEDUPE, -/+ for CONSOLIDATE', () => {
    const dropLines = lines.filter((l) => /\bDROP\b/.test(l) && !l.startsWith('#'));
    expect(dropLines).toHaveLength(790 + 112);
    expect(dropLines.every((l) => l.startsWith('  - ') || l.startsWith('-/+ '))).toBe(true);
    const dropped = dropLines.flatMap((l) => (/\bDROP ([^;]+?)(;|$)/.exec(l.replace(/ {3}.*?DROP /, '   DROP ')) as RegExpExecArray)[1].split(', '));
    const expected = plan.operations.filter((o) => o.destructive).flatMap((o) => (o.action === 'DEDUPE' ? [o.sources[0]] : [...new Set([...(o.consolidation?.windows.flatMap((w) => [w.source, ...w.copies]) ?? []), ...o.sources])]));
    expect(dropped.sort()).toEqual(expected.sort());
    expect(dropped).toHaveLength(1126);
    expect(text).toContain('# destroy    1,126 tables DROPPED, each after a backup: 790 by DEDUPE (a twin keeps the data), 336 replaced by 112 CONSOLIDATE tables');
    expect(lines.filter((l) => l.startsWith('  ~ ')).every((l) => fields(l)[3] === 'RENAME' && !/\bDROP\b/.test(l))).toBe(true);
  });

  test('KEEP is counted per family and reason, adding up to every KEEP of the plan', () => {
    const keeps = plan.operations.filter((o) => o.action === 'KEEP');
    const counts = keepLines.map((l) => l.trim().split(/\s+/));
    expect(counts.reduce((n, c) => n + Number(c[3]), 0)).toBe(keeps.length);
    for (const [, family, reason, n] of counts) {
      expect(keeps.filter((o) => o.family === family && o.reason === reason)).toHaveLength(Number(n));
    }
  });

  test('the header names the plan hash, the catalogue fingerprint, the policy and the counts', () => {
    expect(lines[0]).toContain(REVIEW_FORMAT);
    expect(text).toContain(`# plan       ${plan.planHash}`);
    expect(text).toContain(`# catalogue  ${plan.catalogueFingerprint}`);
    expect(text).toContain(`# policy     ${plan.policyHash}`);
    expect(text).toContain('# actions    KEEP 3,332  RENAME 1,356  DEDUPE 790  CONSOLIDATE 112  REVIEW 3');
    expect(text).toContain('# views      2,482 compatibility views: one under every old name of a RENAME, DEDUPE or CONSOLIDATE');
  });

  test('short evidence per action: sampled variant, twin fingerprint, windows, the reason a person must decide', () => {
    const line = (action: string) => body.filter((l) => l.includes(` ${action} `));
    expect(line('RENAME').every((l) => /variant (bqx|idx) \((sample: median \|\w+\| [\d.]+ over \d+ rows|name|policy default|identical twin)\)/.test(l))).toBe(true);
    expect(line('DEDUPE').every((l) => / content = twin \(\d+ rows, fp [0-9a-f]{12}\)/.test(l))).toBe(true);
    expect(line('CONSOLIDATE').every((l) => /windows 45,90/.test(l))).toBe(true);
    const review = line('REVIEW');
    expect(review).toHaveLength(3);
    expect(lines.indexOf(review[0])).toBe(lines.findIndex((l) => l.startsWith('# REVIEW: 3 operations need a person')) + 1);
    for (const op of plan.operations.filter((o) => o.action === 'REVIEW')) expect(review.find((l) => l.includes(op.id))).toContain(op.detail);
  });

  test('a fraction of the JSON: bytes and lines', () => {
    const json = readFileSync(planFile, 'utf8');
    expect(Buffer.byteLength(text)).toBeLessThan(json.length / 10);
    expect(lines.length).toBe(12 + 1 + 3 + 1 + 1 + (body.length - 3) + 2 + keepLines.length);
    expect(body.length + keepLines.length).toBeLessThan(2300);
  });

  test('pure: the same plan gives the same text; a missing view or an ordering dependency is spelled out', () => {
    expect(planReview(structuredClone(plan))).toBe(text);
    const rename = plan.operations.find((o) => o.action === 'RENAME') as Plan['operations'][number];
    const changed: Plan = {
      ...plan,
      operations: plan.operations.map((o) => (o.id === rename.id ? { ...o, after: ['op_0123456789abcdef'] } : o)),
      views: plan.views.filter((v) => v.name !== rename.sources[0]),
    };
    const t = planReview(changed);
    const l = t.split('\n').find((x) => x.includes(rename.id)) as string;
    expect(l).toContain(`after op_0123456789abcdef; NO VIEW for ${rename.sources[0]}`);
    expect(t).toContain('lines say NO VIEW where one is missing');
  });
});

describe('bqx plan writes the review file beside the plan', () => {
  let tmp: ReturnType<typeof tempDir>;
  let database: string;
  beforeAll(async () => {
    tmp = tempDir('plan-review');
    ({ database } = await seedSmall(tmp.dir));
  });
  afterAll(() => tmp.cleanup());

  test('default <out>.txt, or --review FILE; never over the plan file', async () => {
    const out = path.join(tmp.dir, 'plan.json');
    const r = await runPlan({ engine: engineOptions(database), out, graceStart: '2026-11-21' });
    expect(r.review!.file).toBe(path.resolve(reviewFileFor(out)));
    const written = readFileSync(reviewFileFor(out), 'utf8');
    expect(written).toBe(planReview(r.plan));
    expect(r.review).toMatchObject({ bytes: statSync(reviewFileFor(out)).size, lines: written.split('\n').length - 1 });

    const other = path.join(tmp.dir, 'reviews', 'small.txt');
    const r2 = await runPlan({ engine: engineOptions(database), out: path.join(tmp.dir, 'plan2.json'), review: other, graceStart: '2026-11-21' });
    expect(readFileSync(other, 'utf8')).toBe(written);
    expect(existsSync(reviewFileFor(path.join(tmp.dir, 'plan2.json')))).toBe(false);
    expect(r2.plan.planHash).toBe(r.plan.planHash);

    await expect(runPlan({ engine: engineOptions(database), out, review: out, graceStart: '2026-11-21' })).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });
});

test('the committed plan has its review file committed beside it, and it is that plan\'s review', () => {
  const committed = repoPath('plans', 'phase-4c.plan.json');
  expect(readFileSync(reviewFileFor(committed), 'utf8')).toBe(planReview(JSON.parse(readFileSync(committed, 'utf8')) as Plan));
});
