import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BqxError } from './errors';
import { repoPath } from './paths';

/** Slot kinds a family form may reference besides literals. */
export const SLOT_KINDS = ['type', 'variant', 'pair', 'ccy', 'etf'] as const;
export type SlotKind = (typeof SLOT_KINDS)[number];

export type FormSlot = { kind: 'literal'; value: string } | { kind: SlotKind };

const token = z.string().regex(/^[a-z0-9]+$/, 'tokens are lowercase letters and digits, without "_"');

const formText = z
  .string()
  .regex(/^([a-z0-9]+|\{(type|variant|pair|ccy|etf)\})(_([a-z0-9]+|\{(type|variant|pair|ccy|etf)\}))*$/, 'a form is `_`-joined literals or {type|variant|pair|ccy|etf}');

/** A regular expression given as text in the policy: it must compile. */
const regexText = z.string().min(1).superRefine((text, ctx) => {
  try {
    new RegExp(text);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not a valid regular expression: ${(e as Error).message}` });
  }
});

const columnName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'column names are lowercase letters, digits and "_"');

const columnsSchema = z
  .object({
    featurePattern: regexText,
    windowSuffix: regexText,
    targetPattern: regexText,
    horizons: z.array(z.number().int().positive()).min(1),
    exempt: z.array(columnName),
    reserved: z.array(columnName),
    windowlessExceptions: z.array(z.object({ reason: z.string().min(1), names: z.array(columnName).min(1) }).strict()),
    teamDecision: z.object({ pattern: regexText, exempt: z.array(columnName), windowlessAccepted: z.boolean() }).strict(),
    proposedFeatureTypes: z.record(token, z.array(token).min(1)),
  })
  .strict();

const extractionGroupSchema = z
  .object({
    name: token,
    /** The table name contains this text (`{pair}` stands for the pair). */
    contains: z.string().min(1).optional(),
    prefix: z.string().min(1).optional(),
    excludeSuffix: z.string().min(1).optional(),
  })
  .strict()
  .refine((g) => (g.contains === undefined) !== (g.prefix === undefined), { message: 'a discovery group has exactly one of contains or prefix' });

const extractionSchema = z
  .object({
    groups: z.array(extractionGroupSchema).min(1),
    excludeColumns: z.array(columnName),
    manifestPath: z.string().regex(/^[a-z0-9_./-]*\{pair\}[a-z0-9_./-]*$/, 'an object path with {pair}, e.g. manifests/{pair}/extraction.json'),
  })
  .strict();

const familySchema = z
  .object({
    forms: z.array(formText).min(1),
    types: z.array(token).optional(),
    sorted: z.array(z.enum(['pair', 'ccy', 'etf'])).optional(),
    report: z.enum(['family', 'type']).default('family'),
  })
  .strict();

/** The evidence that decides a missing variant for one family (see variantDetection in the policy file). */
const variantEvidenceRuleSchema = z
  .object({
    levelColumns: z.array(z.string().regex(/^[a-z][a-z0-9_]*(\{window\})?$/)).min(1).optional(),
    twinRule: z.boolean().default(false),
    legacyVariant: token.optional(),
  })
  .strict()
  .refine((r) => r.levelColumns || r.twinRule, { message: 'declare levelColumns, twinRule or both' });

const policySchema = z
  .object({
    version: z.literal(1),
    standard: z.string(),
    variants: z.array(token).min(1),
    defaultVariant: token,
    variantlessTypes: z.array(token),
    tokens: z
      .object({
        pair: z.array(token).min(1),
        ccy: z.array(token).min(1),
        etf: z.array(token).min(1),
        window: z.array(z.number().int().positive()).min(1),
      })
      .strict(),
    families: z.record(token, familySchema),
    legacyAliases: z.array(z.object({ from: formText, to: formText }).strict()),
    bookkeepingPrefix: z.string().min(1),
    variantDetection: z
      .object({
        bqxBelow: z.number().positive(),
        idxAbove: z.number().positive(),
        sampleRows: z.number().int().positive(),
        evidence: z.record(token, variantEvidenceRuleSchema),
      })
      .strict(),
    consolidation: z
      .object({
        types: z.array(token),
        joinKey: z.string(),
        keyColumns: z.array(z.string()),
        partitionBy: z.string(),
        clusterBy: z.array(z.string()),
      })
      .strict(),
    compatibilityViews: z.object({ graceDays: z.number().int().positive(), warnWithinDays: z.number().int().nonnegative() }).strict(),
    columns: columnsSchema,
    extraction: extractionSchema,
    execution: z
      .object({
        batchSize: z.number().int().positive(),
        haltFailureRatio: z.number().gt(0).lte(1),
        minValidationScore: z.number().gt(0).lte(1),
        lockTtlSeconds: z.number().int().positive(),
        budgetUsd: z.number().nonnegative(),
        pricePerTiBUsd: z.number().positive(),
        planningBudgetUsd: z.number().nonnegative(),
      })
      .strict(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (!p.variants.includes(p.defaultVariant)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['defaultVariant'], message: `must be one of variants (${p.variants.join(', ')})` });
    }
    for (const [family, rule] of Object.entries(p.variantDetection.evidence)) {
      if (rule.legacyVariant && !p.variants.includes(rule.legacyVariant)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['variantDetection', 'evidence', family], message: `legacyVariant ${rule.legacyVariant} is not one of variants (${p.variants.join(', ')})` });
      }
    }
    if (p.variantDetection.bqxBelow >= p.variantDetection.idxAbove) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['variantDetection'], message: 'bqxBelow must be below idxAbove' });
    }
    const exceptions = p.columns.windowlessExceptions.flatMap((e) => e.names);
    const dup = exceptions.filter((n, i) => exceptions.indexOf(n) !== i);
    if (dup.length) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['columns', 'windowlessExceptions'], message: `listed more than once: ${[...new Set(dup)].join(', ')}` });
    let windowSuffix: RegExp | null = null;
    try {
      windowSuffix = new RegExp(p.columns.windowSuffix);
    } catch {
      // reported on the field itself
    }
    const notWindowless = windowSuffix ? exceptions.filter((n) => (windowSuffix as RegExp).test(n)) : [];
    if (notWindowless.length) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['columns', 'windowlessExceptions'], message: `these end in a window and need no exception: ${notWindowless.join(', ')}` });
    for (const [name, fam] of Object.entries(p.families)) {
      for (const form of fam.forms) {
        if (form.includes('{type}') && !fam.types?.length) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['families', name], message: `form ${form} uses {type} but the family lists no types` });
        }
        if (!form.includes('{variant}')) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['families', name], message: `form ${form} has no {variant} slot` });
        }
      }
    }
  });

export type PolicyDocument = z.infer<typeof policySchema>;

export interface FamilyGrammar {
  readonly name: string;
  readonly forms: readonly (readonly FormSlot[])[];
  readonly formTexts: readonly string[];
  readonly types: ReadonlySet<string>;
  readonly sorted: ReadonlySet<SlotKind>;
  readonly reportBy: 'family' | 'type';
}

export interface AliasRule {
  readonly from: readonly FormSlot[];
  readonly to: readonly FormSlot[];
  readonly fromText: string;
  readonly toText: string;
}

/** A validated policy with its grammar compiled; `hash` identifies the exact file content. */
export interface Policy {
  readonly doc: PolicyDocument;
  readonly hash: string;
  readonly source: string;
  readonly variants: ReadonlySet<string>;
  readonly tokenSets: Readonly<Record<'pair' | 'ccy' | 'etf', ReadonlySet<string>>>;
  readonly windows: ReadonlySet<number>;
  readonly families: readonly FamilyGrammar[];
  readonly aliases: readonly AliasRule[];
}

export function defaultPolicyPath(): string {
  return repoPath('policy', 'm008.policy.yaml');
}

export function parseForm(text: string): FormSlot[] {
  return text.split('_').map((part) => {
    const m = /^\{(\w+)\}$/.exec(part);
    return m ? { kind: m[1] as SlotKind } : { kind: 'literal', value: part };
  });
}

/**
 * Policies compiled in this process, by source and exact text: a Policy is not changed once
 * compiled (every field readonly; per-policy caches such as the column grammar and the name
 * verdicts rely on it), so the same file read again (the main job's policy, then readiness's
 * policy check) is the same Policy, its verdicts judged once.
 */
const compiledPolicies = new Map<string, Policy>();

export function compilePolicy(text: string, source: string): Policy {
  const key = `${source}\u0000${text}`;
  const known = compiledPolicies.get(key);
  if (known) return known;
  const policy = compileOnce(text, source);
  compiledPolicies.set(key, policy);
  return policy;
}

function compileOnce(text: string, source: string): Policy {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new BqxError('POLICY_INVALID', `policy ${source} is not valid YAML: ${(e as Error).message}`, 'fix the YAML syntax and retry');
  }
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new BqxError('POLICY_INVALID', `policy ${source} is invalid: ${issues}`, 'correct the listed fields (see policy/m008.policy.yaml for the reference)');
  }
  const doc = parsed.data;
  const families: FamilyGrammar[] = Object.entries(doc.families).map(([name, fam]) => ({
    name,
    forms: fam.forms.map(parseForm),
    formTexts: fam.forms,
    types: new Set(fam.types ?? []),
    sorted: new Set(fam.sorted ?? []),
    reportBy: fam.report,
  }));
  return {
    doc,
    hash: createHash('sha256').update(text).digest('hex'),
    source,
    variants: new Set(doc.variants),
    tokenSets: { pair: new Set(doc.tokens.pair), ccy: new Set(doc.tokens.ccy), etf: new Set(doc.tokens.etf) },
    windows: new Set(doc.tokens.window),
    families,
    aliases: doc.legacyAliases.map((a) => ({ from: parseForm(a.from), to: parseForm(a.to), fromText: a.from, toText: a.to })),
  };
}

export function loadPolicy(file: string = defaultPolicyPath()): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BqxError('POLICY_NOT_FOUND', `cannot read policy file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'pass --policy with the path of a policy YAML file');
  }
  return compilePolicy(text, file);
}
