/**
 * The ZetaSQL analyzer (Google's GoogleSQL front end) as a local gRPC server, from
 * @fivetrandevelopers/zetasql's bundled Linux binary. A catalogue of BigQuery-style tables is
 * registered once; `analyze` resolves a statement against it (names, columns, types, functions)
 * and throws with the analyzer's message when the statement is wrong.
 *
 * Tables are registered under their full path `project.dataset.table` (how a backtick-quoted
 * `p.d.t` reaches the analyzer: one identifier); INFORMATION_SCHEMA views sit in nested catalogs
 * named `project.dataset` / `project.region-…`, as `\`p.d\`.INFORMATION_SCHEMA.X` is a path of three.
 */
import { ChildProcess, spawn } from 'child_process';
import * as net from 'net';
import * as path from 'path';
import type { ColumnType } from '../../../core/catalogue';

// The package's runServer() pipes the server's output to our stdout and keeps the child in a
// module variable; we start the same binary ourselves to own its lifetime.
const zetasql = require('@fivetrandevelopers/zetasql');

/** A port nobody listens on right now (the OS picks it), so parallel test files do not collide. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface ZColumn {
  readonly name: string;
  readonly type: ColumnType | ZType;
}

/** A ZetaSQL TypeProto (enough of it for scalars, arrays and structs). */
export interface ZType {
  readonly typeKind: string;
  readonly arrayType?: { elementType: ZType };
  readonly structType?: { field: { fieldName: string; fieldType: ZType }[] };
}

const KINDS: Record<ColumnType, string> = {
  TIMESTAMP: 'TYPE_TIMESTAMP',
  DATE: 'TYPE_DATE',
  STRING: 'TYPE_STRING',
  FLOAT64: 'TYPE_DOUBLE',
  INT64: 'TYPE_INT64',
  BOOL: 'TYPE_BOOL',
  NUMERIC: 'TYPE_NUMERIC',
  BYTES: 'TYPE_BYTES',
  JSON: 'TYPE_JSON',
  OTHER: 'TYPE_STRING',
};

export const ztype = (t: ColumnType | ZType): ZType => (typeof t === 'string' ? { typeKind: KINDS[t] } : t);

export interface ZTable {
  /** Path segments as they appear in SQL: ['bqx-ml.ds.t'] or ['bqx-ml.ds', 'INFORMATION_SCHEMA', 'COLUMNS']. */
  readonly path: readonly string[];
  readonly columns: readonly ZColumn[];
}

interface CatalogProto {
  name: string;
  table: { name: string; column: { name: string; type: ZType }[] }[];
  catalog: CatalogProto[];
  builtinFunctionOptions?: unknown;
}

export interface AnalyzerParams {
  readonly [name: string]: ColumnType | ZType;
}

export class ZetaSqlAnalyzer {
  private child: ChildProcess | null = null;
  private catalogId: unknown = null;
  private features: unknown[] = [];
  private client: any;
  /** Statement kinds seen, e.g. resolvedCreateTableAsSelectStmtNode, for coverage assertions. */
  readonly nodeKinds = new Map<string, number>();

  async start(): Promise<void> {
    const port = await freePort();
    const binary = path.join(path.dirname(require.resolve('@fivetrandevelopers/zetasql')), 'zetasql', 'remote_server.so');
    this.child = spawn(binary, ['localhost', String(port)], { stdio: 'ignore' });
    zetasql.ZetaSQLClient.init(port);
    this.client = zetasql.ZetaSQLClient.getInstance();
    if (!(await this.client.testConnection())) throw new Error(`the ZetaSQL server did not start on port ${port}`);
    const max = await this.client.getLanguageOptions({ maximumFeatures: true });
    // CREATE TABLE … CLONE is not among the "maximum" (released) features of this build; BigQuery
    // has it, so it is switched on explicitly.
    this.features = [...max.enabledLanguageFeatures, 'FEATURE_CREATE_TABLE_CLONE'];
  }

  async stop(): Promise<void> {
    this.child?.kill('SIGKILL');
    this.child = null;
  }

  private languageOptions() {
    // An empty supported-statement list means every statement kind is allowed.
    return { enabledLanguageFeatures: this.features, productMode: 'PRODUCT_EXTERNAL', supportedStatementKinds: [] };
  }

  async register(tables: readonly ZTable[]): Promise<void> {
    const root: CatalogProto = {
      name: 'root',
      table: [],
      catalog: [],
      builtinFunctionOptions: { languageOptions: this.languageOptions() },
    };
    for (const t of tables) {
      let cat = root;
      for (const seg of t.path.slice(0, -1)) {
        let next = cat.catalog.find((c) => c.name === seg);
        if (!next) {
          next = { name: seg, table: [], catalog: [] };
          cat.catalog.push(next);
        }
        cat = next;
      }
      const name = t.path[t.path.length - 1];
      if (!cat.table.some((x) => x.name === name)) cat.table.push({ name, column: t.columns.map((c) => ({ name: c.name, type: ztype(c.type) })) });
    }
    const res = await this.client.registerCatalog({ simpleCatalog: root });
    this.catalogId = res.registeredId;
  }

  /** Resolves the statement; throws the analyzer's message when it does not resolve. */
  async analyze(sql: string, params: AnalyzerParams = {}): Promise<string> {
    try {
      const res = await this.client.analyze({
        registeredCatalogId: this.catalogId,
        sqlStatement: sql,
        options: {
          languageOptions: this.languageOptions(),
          errorMessageMode: 'ERROR_MESSAGE_ONE_LINE',
          queryParameters: Object.entries(params).map(([name, type]) => ({ name, type: ztype(type) })),
        },
      });
      // The resolved AST nests one oneof per class level; the innermost name is the statement kind.
      let node: any = res.resolvedStatement;
      let kind = 'unknown';
      while (node && typeof node.node === 'string') {
        kind = node.node;
        node = node[kind];
      }
      this.nodeKinds.set(kind, (this.nodeKinds.get(kind) ?? 0) + 1);
      return kind;
    } catch (e) {
      const err = e as { details?: string; message?: string };
      throw new Error(`ZetaSQL rejected: ${err.details ?? err.message}\n  in: ${sql.slice(0, 400)}`);
    }
  }
}
