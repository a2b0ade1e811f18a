import type { Blocker, CheckResult, CheckStatus, Priority, Section } from './types';

export type BlockerInput = Omit<Blocker, 'check'>;

export interface CheckScope {
  /** Records a blocker found by this check. */
  block(b: BlockerInput): void;
  /** Marks the check as not run (with the reason in its detail); no blocker. */
  skip(): void;
}

export interface CheckSpec {
  readonly id: string;
  readonly section: Section;
  readonly title: string;
  /** What a check that throws means; a check that cannot run is never a pass. */
  readonly onError?: (message: string) => BlockerInput;
}

/** Collects check results and the blockers they found, in the order the checks ran. */
export class Findings {
  readonly checks: CheckResult[] = [];
  readonly blockers: Blocker[] = [];

  async run(spec: CheckSpec, body: (scope: CheckScope) => Promise<string> | string): Promise<void> {
    const started = Date.now();
    const found: Blocker[] = [];
    let skipped = false;
    const scope: CheckScope = {
      block: (b) => found.push({ ...b, check: spec.id }),
      skip: () => {
        skipped = true;
      },
    };
    let detail: string;
    try {
      detail = await body(scope);
    } catch (e) {
      const message = (e as Error)?.message ?? String(e);
      detail = `the check could not run: ${message}`;
      found.push({
        ...(spec.onError?.(message) ?? {
          code: 'CHECK_FAILED',
          priority: 'P1' as Priority,
          title: `${spec.title}: the check could not run`,
          impact: 'readiness of this part is unknown',
          mitigation: `fix the cause (${message.slice(0, 160)}) and run bqx readiness again`,
        }),
        check: spec.id,
      });
    }
    const worst = found.reduce<Priority | null>((w, b) => (w === null || b.priority < w ? b.priority : w), null);
    const status: CheckStatus = worst === 'P0' || worst === 'P1' ? 'fail' : worst ? 'warn' : skipped ? 'skip' : 'pass';
    this.checks.push({ id: spec.id, section: spec.section, title: spec.title, status, detail, durationMs: Date.now() - started });
    this.blockers.push(...found);
  }
}
