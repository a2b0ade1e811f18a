#!/usr/bin/env bash
# Applies the saved plans of one environment exactly as planned (platform-deploy.yml, apply-*).
#
#   DEPLOY_ENV   dev | prod
#   GITHUB_SHA   the commit this run deploys; every plan must have been made from it
#   PLANS_DIR    where the plan-<env>-<stack> artifacts were downloaded (default: plans)
#   MANIFEST     the synthesis's environment.json (default: out/<env>/environment.json)
#
# For every stack of the manifest, in order (data, pipeline, the views shards; anything else after
# pipeline): refuse a plan made from another commit or for another environment, skip a plan
# without changes, refuse a stack a placeholder still blocks, and `terraform apply tfplan`, which
# itself refuses a saved plan whose state changed since it was made. The foundation stack is never
# applied here (the deployer cannot, by design): its pending changes are reported for break glass.
set -euo pipefail
: "${DEPLOY_ENV:?}" "${GITHUB_SHA:?}"
PLANS_DIR="${PLANS_DIR:-plans}"
MANIFEST="${MANIFEST:-out/$DEPLOY_ENV/environment.json}"
SUMMARY="${GITHUB_STEP_SUMMARY:-/dev/null}"

fail() { echo "::error::$*"; echo "- :x: $*" >> "$SUMMARY"; exit 1; }

[ -f "$MANIFEST" ] || fail "no synthesis manifest $MANIFEST"
[ "$(jq -r .env "$MANIFEST")" = "$DEPLOY_ENV" ] || fail "$MANIFEST is for environment $(jq -r .env "$MANIFEST"), not $DEPLOY_ENV"
echo "### apply $(jq -r .header "$MANIFEST") at $GITHUB_SHA" >> "$SUMMARY"

stacks=$(jq -r '.stacks | keys[]' "$MANIFEST" | awk '
  $0 == "data" { print 0, $0; next }
  $0 == "pipeline" { print 1, $0; next }
  $0 ~ /^views-/ { print 3, $0; next }
  $0 == "foundation" { print 4, $0; next }
  { print 2, $0 }' | sort -k1,1n -k2,2 | cut -d' ' -f2)

for stack in $stacks; do
  dir="$PLANS_DIR/plan-$DEPLOY_ENV-$stack"
  meta="$dir/plan-meta.json"
  [ -f "$meta" ] || fail "$stack: no saved plan (artifact plan-$DEPLOY_ENV-$stack)"
  [ "$(jq -r .commit "$meta")" = "$GITHUB_SHA" ] || fail "$stack: the saved plan was made from $(jq -r .commit "$meta"), this run deploys $GITHUB_SHA"
  [ "$(jq -r .env "$meta")" = "$DEPLOY_ENV" ] || fail "$stack: the saved plan is for $(jq -r .env "$meta")"
  if [ "$(jq -r .changes "$meta")" != true ]; then
    echo "$stack: no changes"; echo "- $stack: no changes" >> "$SUMMARY"; continue
  fi
  if [ "$(jq -r .appliedBy "$meta")" != ciDeployer ]; then
    echo "::warning::$stack has changes that only break glass applies (RUNBOOK \"Bootstrap and break glass\"): apply artifact plan-$DEPLOY_ENV-$stack, then re-run this job if a stack failed for want of them"
    echo "- :warning: $stack: changes pending for break glass (not applied by CI)" >> "$SUMMARY"
    continue
  fi
  blocked=$(jq -r '.blockedBy | join(", ")' "$meta")
  [ -z "$blocked" ] || fail "$stack: placeholders still set ($blocked): replace them in config/environments.ts"
  echo "::group::apply $DEPLOY_ENV/$stack"
  (cd "$dir" && terraform init -input=false -no-color && terraform apply -input=false -no-color tfplan)
  echo "::endgroup::"
  echo "- $stack: applied" >> "$SUMMARY"
done
