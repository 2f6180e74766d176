#!/usr/bin/env bash
# Rotates the deployed token signing key without logging anyone out (docs/keys.md):
# adds a key to the stack's key set that only verifies for 10 minutes, then recycles
# the API functions so that every instance reads the new set before the key signs.
# Old tokens keep verifying until they expire; prune the retired key a lifetime later.
#   infra/rotate-signing-key.sh [stack-name]      (default: mem0)
# Extra options for `local-dev keys rotate` go in MEM0_ROTATE_ARGS, e.g.
#   MEM0_ROTATE_ARGS="--token-ttl-seconds 3600"   (the stack's TokenTtlSeconds, if not 86400)
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${1:-mem0}

arn=$(aws cloudformation describe-stacks --stack-name "$stack" \
  --query "Stacks[0].Outputs[?OutputKey=='SigningKeyArn'].OutputValue" --output text)
if [ -z "$arn" ] || [ "$arn" = "None" ]; then
  echo "the stack $stack has no SigningKeyArn output" >&2
  exit 1
fi

# shellcheck disable=SC2086 # MEM0_ROTATE_ARGS is a list of options
cargo run --quiet -p local-dev -- keys rotate --secret-id "$arn" ${MEM0_ROTATE_ARGS:-}

# Instances started before the rotation do not know the new key: replace them now, well
# within the activation delay. A new description is a configuration change, so new
# invocations go to fresh instances, which read the new secret version.
stamp=$(date -u +%FT%TZ)
for function in SignupFunction LoginFunction ContextsFunction; do
  name=$(aws cloudformation describe-stack-resource --stack-name "$stack" --logical-resource-id "$function" \
    --query StackResourceDetail.PhysicalResourceId --output text)
  aws lambda update-function-configuration --function-name "$name" \
    --description "signing key set rotated $stamp" >/dev/null
  aws lambda wait function-updated --function-name "$name"
  echo "recycled $name"
done
echo "done. After the old key's retire_after (see: cargo run -p local-dev -- keys list --secret-id $arn),"
echo "prune it: cargo run -p local-dev -- keys prune --secret-id $arn"
