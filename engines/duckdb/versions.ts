/**
 * What this process wrote to the warehouse, as counters a cached read can be checked against.
 *
 * DuckDB lets one process at a time open a file for writing, and a read-only process shuts every
 * writer out: while this process holds the file, only its own statements change what a catalogue
 * read returns. Each statement that may change something bumps the counters of what it wrote (its
 * target schema and table when its form names them, everything otherwise); a read remembers the
 * counters it depends on, taken before it ran, and is served again only while they are unchanged.
 */

/**
 * What a statement may have written: a table or a schema it names (`ensure`: a `CREATE … IF NOT
 * EXISTS`, which changes nothing when the object exists), everything, or nothing (a read).
 */
export type Written = { readonly schema: string; readonly table: string | null; readonly ensure: boolean } | 'everything' | null;

/** An identifier as DuckDB resolves it: quoted (with `""` for a quote) or bare; schema names ignore case. */
const IDENT = String.raw`(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))`;
const QUALIFIED = String.raw`${IDENT}\s*\.\s*${IDENT}`;

const TARGETED: readonly { readonly re: RegExp; readonly qualified: boolean; readonly ensure: boolean }[] = [
  { re: new RegExp(String.raw`^\s*INSERT\s+(?:OR\s+(?:REPLACE|IGNORE)\s+)?INTO\s+${QUALIFIED}`, 'i'), qualified: true, ensure: false },
  { re: new RegExp(String.raw`^\s*UPDATE\s+${QUALIFIED}`, 'i'), qualified: true, ensure: false },
  { re: new RegExp(String.raw`^\s*DELETE\s+FROM\s+${QUALIFIED}`, 'i'), qualified: true, ensure: false },
  { re: new RegExp(String.raw`^\s*CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+${QUALIFIED}`, 'i'), qualified: true, ensure: true },
  { re: new RegExp(String.raw`^\s*CREATE\s+SCHEMA\s+IF\s+NOT\s+EXISTS\s+${IDENT}\s*;?\s*$`, 'i'), qualified: false, ensure: true },
];

/**
 * Statements that change nothing a catalogue read returns: queries, settings, transaction control
 * and checkpoints. A `WITH` may lead a data-changing statement: it is a read only when none follows.
 */
const READ = /^\s*(SELECT|FROM|VALUES|DESCRIBE|SHOW|SUMMARIZE|EXPLAIN|PRAGMA|SET|RESET|BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|CHECKPOINT|FORCE\s+CHECKPOINT)\b/i;
const WITH = /^\s*WITH\b/i;
const CHANGING_KEYWORD = /\b(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|COPY|ATTACH|DETACH|TRUNCATE|COMMENT)\b/i;

const unquote = (quoted: string | undefined, bare: string | undefined): string => (quoted !== undefined ? quoted.replace(/""/g, '"') : bare!);

/** What `sql` may write (see `Written`); anything not recognised counts as everything. */
export function writtenBy(sql: string): Written {
  if (READ.test(sql)) {
    // EXPLAIN ANALYZE runs its statement.
    return /^\s*EXPLAIN\s+ANALY[SZ]E\b/i.test(sql) ? 'everything' : null;
  }
  if (WITH.test(sql)) return CHANGING_KEYWORD.test(sql) ? 'everything' : null;
  for (const { re, qualified, ensure } of TARGETED) {
    const m = re.exec(sql);
    if (!m) continue;
    return { schema: unquote(m[1], m[2]), table: qualified ? unquote(m[3], m[4]) : null, ensure };
  }
  return 'everything';
}

/**
 * A cached read's dependency, on objects that existed when it was read (a read of a missing one
 * fails and is not cached): a whole schema (every object in it, their rows), or one table's rows.
 * Only a `DROP` could make them missing again, and it counts as everything.
 */
export interface Dependency {
  readonly schema: string;
  readonly table?: string;
}

/** Bumped by every write in the schema, a table it may create included. */
const inSchema = (schema: string): string => `in:${schema.toLowerCase()}`;
/** Bumped by a write to the table's rows. */
const rowsOf = (schema: string, table: string): string => `rows:${schema.toLowerCase()}.${table.toLowerCase()}`;

/**
 * Statements that could undo an ensured runner dataset: its schema dropped or renamed, a database
 * attached or detached, or its `dataset_options` row deleted or changed.
 */
const UNDOES_ENSURE = /\b(DROP|ALTER)\s+SCHEMA\b|\b(ATTACH|DETACH)\b|\b(DELETE\s+FROM|UPDATE|TRUNCATE)\s+(TABLE\s+)?("?_bqx_catalog"?\s*\.\s*)?"?dataset_options\b/i;

/** Per-file counters of what this process wrote (see the module comment). */
export class CatalogueVersions {
  private everything = 0;
  private readonly counters = new Map<string, number>();
  /** Runner datasets this process ensured in a committed transaction (see `ensured`). */
  private readonly ensuredSchemas = new Set<string>();

  /** A runner dataset's schema and its `dataset_options` row were ensured, and that committed. */
  noteEnsured(schema: string): void {
    this.ensuredSchemas.add(schema.toLowerCase());
  }

  /** Whether a `CREATE SCHEMA IF NOT EXISTS` of `schema` and its options row would change nothing. */
  ensured(schema: string): boolean {
    return this.ensuredSchemas.has(schema.toLowerCase());
  }

  /** Every statement passes here: one that could undo an ensured dataset forgets them all. */
  noteStatementText(sql: string): void {
    if (this.ensuredSchemas.size > 0 && UNDOES_ENSURE.test(sql)) this.ensuredSchemas.clear();
  }

  /** Notes a write (a committed statement, or one whose outcome is unknown). */
  bump(written: Written): void {
    if (written === null) return;
    if (written === 'everything') {
      this.everything++;
      return;
    }
    // `CREATE SCHEMA IF NOT EXISTS` creates nothing in a schema that exists; `CREATE TABLE IF NOT
    // EXISTS` may create a table in the schema, and leaves one that exists as it was.
    if (written.table === null) return;
    const keys = written.ensure ? [inSchema(written.schema)] : [inSchema(written.schema), rowsOf(written.schema, written.table)];
    for (const k of keys) this.counters.set(k, (this.counters.get(k) ?? 0) + 1);
  }

  /** The counters `deps` depend on, as one string: equal stamps mean nothing they depend on was written in between. */
  stamp(deps: readonly Dependency[]): string {
    const keys = deps.map((d) => (d.table === undefined ? inSchema(d.schema) : rowsOf(d.schema, d.table)));
    return [this.everything, ...keys.map((k) => this.counters.get(k) ?? 0)].join(':');
  }
}
