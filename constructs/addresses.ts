import { IConstruct } from 'constructs';
import { TerraformResource, TerraformStack } from 'cdktf';

/**
 * Terraform addresses are state: a resource whose logical id changes is destroyed and created again
 * (for an IAM binding, a moment without the access) unless a `moved` block goes with it. cdktf
 * derives the logical id from the construct path (`<path>_<hash>`, or the bare id directly under a
 * stack), so wrapping an L1 in an L2 would change it. The L2s of this package therefore give their
 * main resource a flat address, documented on each, and stacks pin the few bindings that were
 * declared before their construct existed.
 */

const taken = new WeakMap<TerraformStack, Map<string, string>>();

/**
 * Sets `resource`'s logical id to `address`, refusing an address another resource of the same type
 * in the stack already holds (cdktf would silently merge the two into one block).
 */
export function flatAddress<R extends TerraformResource>(resource: R, address: string): R {
  const stack = TerraformStack.of(resource);
  const seen = taken.get(stack) ?? new Map<string, string>();
  taken.set(stack, seen);
  const key = `${resource.terraformResourceType}.${address}`;
  const holder = seen.get(key);
  if (holder !== undefined && holder !== resource.node.path) {
    throw new Error(`${resource.node.path}: address ${key} is already held by ${holder}`);
  }
  seen.set(key, resource.node.path);
  resource.overrideLogicalId(address);
  return resource;
}

/**
 * Pins the addresses of resources at construct paths relative to `scope` (see above). Returns the
 * paths that matched no resource: a binding removed from the config leaves its entry unused, which
 * must not fail synthesis, so the caller (and a test over the committed environments) decides.
 */
export function pinAddresses(scope: IConstruct, addresses: Readonly<Record<string, string>>): string[] {
  const unmatched: string[] = [];
  for (const [path, address] of Object.entries(addresses)) {
    let node: IConstruct | undefined = scope;
    for (const id of path.split('/')) node = node?.node.tryFindChild(id);
    if (node && TerraformResource.isTerraformResource(node)) flatAddress(node as TerraformResource, address);
    else unmatched.push(path);
  }
  return unmatched;
}
