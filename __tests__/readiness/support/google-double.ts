/**
 * A local stand-in for the Google Cloud APIs readiness asks beyond BigQuery, all on one base URL
 * (127.0.0.1): Service Usage (enabled services, paginated), Resource Manager
 * (projects.testIamPermissions), Cloud Storage (buckets.get, media upload, object delete), the
 * Cloud Run Admin API v2 (jobs.get) and IAM Credentials (generateAccessToken: impersonation). Paths
 * and bodies follow the REST references; unknown paths answer 404 so a client change is noticed.
 * BigQuery itself is testing/bigquery/double.ts.
 *
 * With `iam` (the IAM model the BigQuery double enforces, testing/bigquery/double/iam.ts) Resource
 * Manager answers testIamPermissions for the calling token's identity from the same grants, and
 * generateAccessToken issues a token for the service account when the caller holds
 * iam.serviceAccounts.getAccessToken on it (roles/iam.serviceAccountTokenCreator); Cloud Storage and
 * Cloud Run authorize every call from them too (buckets.get: storage.buckets.get on the bucket;
 * objects.insert: storage.objects.create on the object, and storage.objects.delete when it replaces
 * one; objects.delete: storage.objects.delete; jobs.get: run.jobs.get on the job), conditions on the
 * object name included, and answer 403 like Google. Without it, `projectPermissions` answers for
 * everyone, `writable` says who may write, and impersonation is refused.
 */
import * as http from 'http';
import { closeServer, listenOnLoopback } from '../../../testing/loopback';
import { describeResource, serviceAccountProject, type IamModel, type IamResource } from '../../../testing/bigquery/double/iam';
import { needsOn } from '../../../testing/bigquery/double/needs-fixture';

export interface GoogleDoubleState {
  project: string;
  enabledApis: Set<string>;
  /** Project-level permissions the caller holds (testIamPermissions answers from this). */
  projectPermissions: Set<string>;
  /** Bucket → writable by the caller. */
  buckets: Map<string, { writable: boolean }>;
  /** Cloud Run jobs deployed, as `region/name`. */
  jobs: Set<string>;
  /** Per-caller IAM shared with the BigQuery double (then `projectPermissions` is not used). */
  iam?: IamModel;
  /** The environment of a deployed job's container, by `region/name` (jobs.get returns it in template.template.containers[0].env). */
  jobEnv?: Map<string, Record<string, string>>;
}

export class GoogleApisDouble {
  readonly state: GoogleDoubleState;
  /** Every object written and whether it was deleted again. */
  readonly objects = new Map<string, { deleted: boolean; body?: string }>();
  readonly requests: string[] = [];
  /** Every token issued by generateAccessToken: who asked, for which service account. */
  readonly impersonations: { by: string; as: string; scope: string[] }[] = [];
  private server: http.Server | null = null;
  endpoint = '';

  constructor(state: GoogleDoubleState) {
    this.state = state;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => this.send(res, 500, { error: { code: 500, message: String(e), status: 'INTERNAL' } }));
    });
    this.endpoint = await listenOnLoopback(this.server);
    return this.endpoint;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    await closeServer(this.server);
    this.server = null;
  }

  private send(res: http.ServerResponse, status: number, body?: unknown): void {
    if (body === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private fail(res: http.ServerResponse, status: number, statusText: string, message: string): void {
    this.send(res, status, { error: { code: status, message, status: statusText } });
  }

  private async body(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    this.requests.push(`${req.method} ${url.pathname}`);
    const bearer = String(req.headers.authorization ?? '').match(/^Bearer (\S+)$/);
    if (!bearer) return this.fail(res, 401, 'UNAUTHENTICATED', 'no bearer token');
    const p = decodeURIComponent(url.pathname);
    const s = this.state;
    const caller = s.iam ? s.iam.membersOf(bearer[1]) : null;
    if (s.iam && !caller) return this.fail(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    let m: RegExpMatchArray | null;
    /** The permissions of `permissions` the caller lacks on `resource` (none without an IAM model). */
    const lacking = (resource: IamResource, ...permissions: string[]) => (s.iam && caller ? permissions.filter((x) => !s.iam!.has(caller, x, resource)) : []);
    const denied = (permission: string, resource: IamResource) =>
      this.fail(res, 403, 'PERMISSION_DENIED', `${caller?.[0] ?? 'caller'} does not have ${permission} access to ${describeResource(resource)}. Permission '${permission}' denied on resource (or it may not exist).`);

    if (req.method === 'POST' && (m = p.match(/^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/))) {
      const body = JSON.parse((await this.body(req)) || '{}') as { scope?: string[]; lifetime?: string };
      const email = m[1];
      const resource = { kind: 'serviceAccount' as const, project: serviceAccountProject(email), email };
      if (!s.iam || !caller || !s.iam.has(caller, 'iam.serviceAccounts.getAccessToken', resource)) {
        return this.fail(res, 403, 'PERMISSION_DENIED', `Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).`);
      }
      if (!body.scope?.length) return this.fail(res, 400, 'INVALID_ARGUMENT', 'scope is required');
      const accessToken = s.iam.issueToken(`serviceAccount:${email}`);
      this.impersonations.push({ by: caller[0], as: email, scope: body.scope });
      return this.send(res, 200, { accessToken, expireTime: new Date(Date.now() + 3_600_000).toISOString() });
    }

    if (req.method === 'GET' && (m = p.match(/^\/v1\/projects\/([^/]+)\/services$/))) {
      if (m[1] !== s.project) return this.fail(res, 403, 'PERMISSION_DENIED', `project ${m[1]}`);
      if (url.searchParams.get('filter') !== 'state:ENABLED') return this.fail(res, 400, 'INVALID_ARGUMENT', 'this double only answers filter=state:ENABLED');
      const all = [...s.enabledApis].sort();
      const size = Math.min(Number(url.searchParams.get('pageSize') ?? 50), 5); // small pages: clients must paginate
      const start = Number(url.searchParams.get('pageToken') ?? 0);
      const page = all.slice(start, start + size);
      const next = start + size < all.length ? String(start + size) : undefined;
      return this.send(res, 200, {
        services: page.map((name) => ({ name: `projects/123456/services/${name}`, config: { name }, state: 'ENABLED' })),
        ...(next ? { nextPageToken: next } : {}),
      });
    }
    if (req.method === 'POST' && (m = p.match(/^\/v1\/projects\/([^/:]+):testIamPermissions$/))) {
      const asked: string[] = JSON.parse((await this.body(req)) || '{}').permissions ?? [];
      if (m[1] !== s.project) return this.send(res, 200, {});
      const granted = s.iam && caller ? s.iam.test(caller, { kind: 'project', project: m[1] }, asked) : asked.filter((x) => s.projectPermissions.has(x));
      return this.send(res, 200, granted.length ? { permissions: granted } : {});
    }
    if (req.method === 'GET' && (m = p.match(/^\/storage\/v1\/b\/([^/]+)$/))) {
      const [missing] = lacking({ kind: 'bucket', project: s.project, bucket: m[1] }, 'storage.buckets.get');
      if (missing) return denied(missing, { kind: 'bucket', project: s.project, bucket: m[1] });
      return s.buckets.has(m[1]) ? this.send(res, 200, { kind: 'storage#bucket', name: m[1], location: 'US-CENTRAL1' }) : this.fail(res, 404, 'NOT_FOUND', `bucket ${m[1]}`);
    }
    if (req.method === 'POST' && (m = p.match(/^\/upload\/storage\/v1\/b\/([^/]+)\/o$/))) {
      const b = s.buckets.get(m[1]);
      const name = url.searchParams.get('name');
      const body = await this.body(req);
      if (!b) return this.fail(res, 404, 'NOT_FOUND', `bucket ${m[1]}`);
      if (url.searchParams.get('uploadType') !== 'media' || !name) return this.fail(res, 400, 'INVALID_ARGUMENT', 'uploadType=media and name are required');
      if (!b.writable) return this.fail(res, 403, 'PERMISSION_DENIED', `caller does not have storage.objects.create access to ${m[1]}`);
      // Replacing an object needs storage.objects.delete besides create (objects.insert reference).
      const object: IamResource = { kind: 'object', project: s.project, bucket: m[1], object: name };
      const existing = this.objects.get(`${m[1]}/${name}`);
      const [missing] = lacking(object, ...needsOn('STORAGE_OBJECTS_INSERT', 'object', existing !== undefined && !existing.deleted));
      if (missing) return denied(missing, object);
      this.objects.set(`${m[1]}/${name}`, { deleted: false, body });
      return this.send(res, 200, { kind: 'storage#object', bucket: m[1], name });
    }
    if (req.method === 'DELETE' && (m = p.match(/^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/))) {
      const object: IamResource = { kind: 'object', project: s.project, bucket: m[1], object: m[2] };
      const [missing] = lacking(object, ...needsOn('STORAGE_OBJECTS_DELETE', 'object'));
      if (missing) return denied(missing, object);
      const o = this.objects.get(`${m[1]}/${m[2]}`);
      if (!o || o.deleted) return this.fail(res, 404, 'NOT_FOUND', `object ${m[2]}`);
      o.deleted = true;
      return this.send(res, 204);
    }
    if (req.method === 'GET' && (m = p.match(/^\/v2\/projects\/([^/]+)\/locations\/([^/]+)\/jobs\/([^/]+)$/))) {
      const job: IamResource = { kind: 'job', project: m[1], location: m[2], job: m[3] };
      const [missing] = lacking(job, ...needsOn('RUN_JOBS_GET', 'job'));
      if (missing) return denied(missing, job);
      if (m[1] !== s.project || !s.jobs.has(`${m[2]}/${m[3]}`)) return this.fail(res, 404, 'NOT_FOUND', `job ${m[3]}`);
      const env = Object.entries(s.jobEnv?.get(`${m[2]}/${m[3]}`) ?? {}).map(([name, value]) => ({ name, value }));
      return this.send(res, 200, {
        name: `projects/${m[1]}/locations/${m[2]}/jobs/${m[3]}`,
        terminalCondition: { type: 'Ready', state: 'CONDITION_SUCCEEDED' },
        template: { taskCount: 1, template: { containers: [{ image: `us-central1-docker.pkg.dev/${m[1]}/bqx-ml/${m[3]}:latest`, env }] } },
      });
    }
    return this.fail(res, 404, 'NOT_FOUND', `the double does not serve ${req.method} ${p}`);
  }
}
