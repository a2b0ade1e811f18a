import { Construct } from 'constructs';
import { StorageBucket, StorageBucketIamMember, StorageBucketLifecycleRule } from './google';
import { IPrincipal, grantId } from './principal';
import { Labels, mergeLabels } from './labels';

export interface LifecycleBucketProps {
  readonly name: string;
  /** @default 'us-central1' */
  readonly location?: string;
  /** @default the provider's project */
  readonly project?: string;
  /** @default 'STANDARD' */
  readonly storageClass?: string;
  /** @default false */
  readonly versioning?: boolean;
  /** Delete objects under a prefix after N days. @default [] */
  readonly expireByPrefix?: readonly { readonly prefix: string; readonly days: number }[];
  /** Delete noncurrent versions N days after they became noncurrent (versioned buckets). @default none */
  readonly noncurrentVersionDays?: number;
  /** @default false: a bucket with objects is never destroyed */
  readonly forceDestroy?: boolean;
  readonly labels?: Labels;
}

/**
 * A GCS bucket with uniform bucket-level access and public access prevention enforced (neither can
 * be turned off through props) and lifecycle rules from props.
 */
export class LifecycleBucket extends Construct {
  readonly resource: StorageBucket;
  readonly bucketName: string;
  private readonly granted = new Set<string>();

  constructor(scope: Construct, id: string, props: LifecycleBucketProps) {
    super(scope, id);
    this.bucketName = props.name;
    const rules: StorageBucketLifecycleRule[] = (props.expireByPrefix ?? []).map((r) => ({
      action: { type: 'Delete' },
      condition: { age: r.days, matchesPrefix: [r.prefix] },
    }));
    if (props.noncurrentVersionDays !== undefined) {
      rules.push({
        action: { type: 'Delete' },
        condition: { daysSinceNoncurrentTime: props.noncurrentVersionDays, withState: 'ARCHIVED' },
      });
    }
    this.resource = new StorageBucket(this, 'bucket', {
      name: props.name,
      location: (props.location ?? 'us-central1').toUpperCase(),
      project: props.project,
      storageClass: props.storageClass ?? 'STANDARD',
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      forceDestroy: props.forceDestroy ?? false,
      versioning: props.versioning ? { enabled: true } : undefined,
      lifecycleRule: rules.length ? rules : undefined,
      labels: mergeLabels(props.labels),
    });
  }

  /** Read objects (roles/storage.objectViewer). */
  grantRead(principal: IPrincipal): StorageBucketIamMember {
    return this.grant(principal, 'roles/storage.objectViewer');
  }

  /** Create objects, no overwrite or delete (roles/storage.objectCreator). */
  grantWrite(principal: IPrincipal): StorageBucketIamMember {
    return this.grant(principal, 'roles/storage.objectCreator');
  }

  /** Read, create, overwrite and delete objects, no IAM (roles/storage.objectUser). */
  grantReadWrite(principal: IPrincipal): StorageBucketIamMember {
    return this.grant(principal, 'roles/storage.objectUser');
  }

  grant(principal: IPrincipal, role: string): StorageBucketIamMember {
    const id = grantId(role, principal);
    if (this.granted.has(id)) throw new Error(`${this.node.path}: ${role} is already granted to ${principal.member}`);
    this.granted.add(id);
    return new StorageBucketIamMember(this, id, { bucket: this.resource.name, role, member: principal.member });
  }
}
