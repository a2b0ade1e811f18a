import { Construct } from 'constructs';
import { StorageBucket, StorageBucketIamMember, StorageBucketLifecycleRule } from './google';
import { IPrincipal } from './principal';
import { Grant, GrantTable, IGrantTarget, IamCondition } from './grants';
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
export class LifecycleBucket extends Construct implements IGrantTarget {
  readonly resource: StorageBucket;
  readonly bucketName: string;
  private readonly grants: GrantTable<StorageBucketIamMember>;

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
    // Uniform bucket-level access (always on here) is what lets a bucket binding carry a condition.
    this.grants = new GrantTable(this, (grantId, role, member, condition) => new StorageBucketIamMember(this, grantId, { bucket: this.resource.name, role, member, condition }), true);
  }

  /** Read objects (roles/storage.objectViewer). */
  grantRead(principal: IPrincipal): Grant<StorageBucketIamMember> {
    return this.grant(principal, 'roles/storage.objectViewer');
  }

  /** Create objects, no overwrite or delete (roles/storage.objectCreator). */
  grantWrite(principal: IPrincipal): Grant<StorageBucketIamMember> {
    return this.grant(principal, 'roles/storage.objectCreator');
  }

  /** Read, create, overwrite and delete objects, no IAM (roles/storage.objectUser). */
  grantReadWrite(principal: IPrincipal): Grant<StorageBucketIamMember> {
    return this.grant(principal, 'roles/storage.objectUser');
  }

  /**
   * Grants any bucket-level role, optionally under an IAM condition (the member resource's
   * `condition` block); the same grant twice is refused (it would be two resources).
   */
  grant(principal: IPrincipal, role: string, condition?: IamCondition): Grant<StorageBucketIamMember> {
    return this.grants.add(principal, role, condition);
  }
}
