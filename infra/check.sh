#!/usr/bin/env bash
# Proves infra/template.yaml deployable without an AWS account:
#  1. cfn-lint on the template as written (SAM and CloudFormation schemas);
#  2. the SAM transform that CloudFormation runs at deploy time, done here by the same
#     translator, once without and once with a CORS origin;
#  3. cfn-lint on each expanded template (plain CloudFormation).
# The route and table-drift checks are cargo tests (infra/tests/template.rs).
# Installs cfn-lint and the SAM translator into target/test-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/test-venv
mkdir -p target/infra
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements-infra.txt

echo "cfn-lint infra/template.yaml"
"$venv/bin/cfn-lint" infra/template.yaml

for origin in "" "https://app.example.com"; do
  expanded=target/infra/expanded${origin:+-cors}.json
  # The translator needs a region but calls no AWS API: the template names no managed
  # policy, and `sam package` would have replaced CodeUri with an S3 location.
  AWS_DEFAULT_REGION=us-east-1 "$venv/bin/python" - "$origin" "$expanded" <<'PY'
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

origin, out = sys.argv[1], sys.argv[2]

class NoManagedPolicies:
    def load(self):
        sys.exit("infra/template.yaml names an AWS managed policy; give each function its own role instead")

with open("infra/template.yaml") as f:
    template = yaml_parse(f.read())
template["Globals"]["Function"]["CodeUri"] = "s3://packaged-by-sam/code.zip"
expanded = transform(template, {"CorsAllowedOrigin": origin}, NoManagedPolicies())
with open(out, "w") as f:
    json.dump(expanded, f, indent=1)
PY
  echo "cfn-lint $expanded (SAM transform, CorsAllowedOrigin='$origin')"
  "$venv/bin/cfn-lint" "$expanded"
done
echo "infra/template.yaml: lint clean, before and after the SAM transform"
