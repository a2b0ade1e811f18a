import { Construct } from 'constructs';
import { ArtifactRegistryRepository, ArtifactRegistryRepositoryIamMember } from './google';
import { IPrincipal } from './principal';
import { Grant, GrantTable, IGrantTarget, IamCondition } from './grants';
import { flatAddress } from './addresses';
import { Labels, mergeLabels } from './labels';

export interface ArtifactRepositoryProps {
  readonly repositoryId: string;
  /** Region. @default 'us-central1' */
  readonly location?: string;
  /** @default 'DOCKER' */
  readonly format?: string;
  /** @default none */
  readonly description?: string;
  /**
   * Tags cannot be moved or deleted once pushed (docker_config.immutable_tags), so an image
   * referenced by tag is as fixed as one referenced by digest.
   * @default true
   */
  readonly immutableTags?: boolean;
  readonly labels?: Labels;
}

/**
 * An Artifact Registry repository (the images of the jobs) and the bindings on it.
 *
 * Terraform address of the repository: `google_artifact_registry_repository.<construct id>`.
 * Bindings are children `grant-<role>-<principal>` (nested addresses).
 */
export class ArtifactRepository extends Construct implements IGrantTarget {
  readonly resource: ArtifactRegistryRepository;
  readonly location: string;
  private readonly grants: GrantTable<ArtifactRegistryRepositoryIamMember>;

  constructor(scope: Construct, id: string, props: ArtifactRepositoryProps) {
    super(scope, id);
    this.location = props.location ?? 'us-central1';
    this.resource = flatAddress(
      new ArtifactRegistryRepository(this, 'repository', {
        repositoryId: props.repositoryId,
        location: this.location,
        format: props.format ?? 'DOCKER',
        description: props.description,
        dockerConfig: (props.format ?? 'DOCKER') === 'DOCKER' ? { immutableTags: props.immutableTags ?? true } : undefined,
        labels: mergeLabels(props.labels),
      }),
      id,
    );
    this.grants = new GrantTable(this, (grantId, role, member) =>
      new ArtifactRegistryRepositoryIamMember(this, grantId, { repository: this.resource.name, location: this.location, role, member }),
    );
  }

  /** Pull images (roles/artifactregistry.reader). */
  grantRead(principal: IPrincipal): Grant<ArtifactRegistryRepositoryIamMember> {
    return this.grant(principal, 'roles/artifactregistry.reader');
  }

  /** Push and pull images, no deletes (roles/artifactregistry.writer). */
  grantWrite(principal: IPrincipal): Grant<ArtifactRegistryRepositoryIamMember> {
    return this.grant(principal, 'roles/artifactregistry.writer');
  }

  /** Grants any repository-level role; the same grant twice is refused. */
  grant(principal: IPrincipal, role: string, condition?: IamCondition): Grant<ArtifactRegistryRepositoryIamMember> {
    return this.grants.add(principal, role, condition); // a condition is refused: these bindings render none
  }
}
