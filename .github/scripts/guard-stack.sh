#!/usr/bin/env bash
# The guard every synthesized stack passes before terraform runs on it in CI (with a Google
# identity): usage guard-stack.sh STACK_DIR/cdk.tf.json ENV_DIR/environment.json [STACK].
# Refuses: a provider other than google, modules, provisioners, data sources that run code; a
# backend other than gcs in the environment's state bucket (the foundation's own bucket for STACK
# foundation) under its prefix (STACK given: exactly <prefixRoot>/<stack>); any provider setting that redirects or re-authenticates Terraform
# (*_custom_endpoint, access_token, credentials, impersonate_service_account*).
set -euo pipefail
tf="$1"
manifest="$2"
stack="${3:-}"
fail() { echo "::error::guard: $tf: $*" >&2; exit 1; }

jq -e '((.terraform.required_providers // {}) | keys) == ["google"]
       and (.terraform.required_providers.google.source == "google")
       and (((.data // {}) | keys) - ["google_project"] == [])
       and (has("module") | not)
       and ([.. | objects | select(has("provisioner"))] | length == 0)' "$tf" > /dev/null \
  || fail "only the google provider, no modules, provisioners or data sources that run code"

overrides=$(jq -r '[(.provider // {}) | to_entries[] | .key as $p | .value[] | keys[]
                    | select(test("_custom_endpoint$|^access_token$|^credentials$|^impersonate_service_account")) | "\($p).\(.)"] | join(", ")' "$tf")
[ -z "$overrides" ] || fail "provider settings that redirect or re-authenticate Terraform: $overrides"

# The foundation stack's state is in its own bucket (only break glass writes it).
jq -e --slurpfile m "$manifest" --arg stack "$stack" '
  (.terraform.backend | keys) == ["gcs"]
  and .terraform.backend.gcs.bucket == (if $stack == "foundation" then $m[0].state.foundationBucket else $m[0].state.bucket end)
  and (if $stack == "" then (.terraform.backend.gcs.prefix | startswith($m[0].state.prefixRoot + "/"))
       else .terraform.backend.gcs.prefix == ($m[0].state.prefixRoot + "/" + $stack) end)
  and ((.terraform.backend.gcs | keys) - ["bucket", "prefix"] == [])' "$tf" > /dev/null \
  || fail "backend is not the environment's state (gcs, bucket $(jq -r .state.bucket "$manifest"), prefix $(jq -r .state.prefixRoot "$manifest")/${stack:-<stack>}): $(jq -c '.terraform.backend' "$tf")"
