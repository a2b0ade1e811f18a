/** The code scan's report: `bqx scan --json` prints it, readiness embeds it. */
import type { Direction } from './references';
import type { ResolvedBy } from './resolve';
import type { SourceKind } from './templates';

export const SCAN_FORMAT = 'bqx-code-scan/v1';

export const SCAN_CODES = ['WRITES_RETIRED_NAME', 'WRITES_NONCOMPLIANT', 'READS_RETIRED_NAME', 'DISCOVERY_READS_VIEWS', 'READS_UNKNOWN_NAME', 'OK'] as const;
export type ScanCode = (typeof SCAN_CODES)[number];

/** As readiness ranks blockers (P0 prevents execution … P3 minor); OK findings carry `none`. */
export type ScanSeverity = 'P0' | 'P1' | 'P2' | 'P3' | 'none';

/** The directive's statuses: READY (no finding), PARTIAL (needs M008 updates), MISSING (required, absent), BLOCKED (a P0/P1 finding). */
export const SCRIPT_STATUSES = ['READY', 'PARTIAL', 'MISSING', 'BLOCKED'] as const;
export type ScriptStatus = (typeof SCRIPT_STATUSES)[number];

export const SCRIPT_CATEGORIES = ['build', 'extraction', 'merge', 'remediation', 'validation', 'generation', 'analysis', 'orchestration', 'other'] as const;
export type ScriptCategory = (typeof SCRIPT_CATEGORIES)[number];

export interface ScanFinding {
  readonly code: ScanCode;
  readonly severity: ScanSeverity;
  /** The table name the finding is about (the template for OK and unresolved references). */
  readonly name: string;
  readonly detail: string;
}

export interface ScanReference {
  readonly line: number;
  readonly direction: Direction;
  /** The table part of the reference as a template: `cov_{variant}_{pair1}_{pair2}`. */
  readonly template: string;
  /** Feature-dataset names it stands for (expanded from the code's values, else the catalogue's). */
  readonly names: readonly string[];
  readonly resolvedBy: ResolvedBy;
  /** What it is: `CREATE TABLE`, `get_table`, `bq cp`, `INFORMATION_SCHEMA.TABLES`, … */
  readonly via: string;
  readonly findings: readonly ScanFinding[];
}

export interface ScannedScript {
  readonly path: string;
  readonly kind: SourceKind;
  readonly category: ScriptCategory;
  readonly status: ScriptStatus;
  readonly references: readonly ScanReference[];
  /** `file:line CODE name` for every finding that is not OK, and what a build ships. */
  readonly evidence: readonly string[];
  /** A test file of the repository names this script. */
  readonly tested: boolean;
  /** Dockerfiles: the scripts the image copies in; Cloud Build files: the Dockerfiles they build. */
  readonly ships: readonly string[];
}

/** One capability the directive requires of the team's Phase 4C code, found or MISSING. */
export interface RequiredScript {
  readonly id: string;
  readonly need: string;
  readonly status: 'PRESENT' | 'MISSING';
  /** `file:line` of each script that provides it. */
  readonly evidence: readonly string[];
  /** What `bqx` does instead. */
  readonly bqx: string;
}

export interface ScanSummary {
  readonly scripts: number;
  readonly withReferences: number;
  readonly references: Readonly<Record<Direction, number>>;
  /** Findings (one per name) by code. */
  readonly findings: Readonly<Record<ScanCode, number>>;
  /** References with at least one finding of the code. */
  readonly referencesByCode: Readonly<Record<ScanCode, number>>;
  readonly unresolved: number;
  readonly byStatus: Readonly<Record<ScriptStatus, number>>;
  readonly byCategory: Readonly<Record<string, number>>;
  /** The first grace-period end a READS_RETIRED_NAME runs into (null when none). */
  readonly earliestBreak: string | null;
  readonly required: readonly RequiredScript[];
  /** Where the retired names and grace dates came from. */
  readonly basis: string;
}

export interface CodeScan {
  readonly format: typeof SCAN_FORMAT;
  readonly root: string;
  readonly featureDatasets: readonly string[];
  readonly plan: { readonly planHash: string; readonly graceEnd: string | null } | null;
  readonly scripts: readonly ScannedScript[];
  readonly summary: ScanSummary;
}
