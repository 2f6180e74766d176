#!/usr/bin/env bash
# Release build of the Lambda functions with cargo lambda, as `sam build` does it,
# zipped as Lambda takes them; prints each binary's size and its zip's size.
# x86_64 always (the host's target); arm64, which infra/template.yaml deploys, too when
# the aarch64-unknown-linux-gnu target is installed (`rustup target add` it, once).
# Installs cargo-lambda (and the Zig linker it uses) into target/test-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

functions=(signup login contexts orgs oauth mcp pages)
venv=target/test-venv
mkdir -p target
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements-lambda.txt
export PATH="$PWD/$venv/bin:$PATH"

targets=(x86_64-unknown-linux-gnu)
if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  targets+=(aarch64-unknown-linux-gnu)
else
  echo "arm64: aarch64-unknown-linux-gnu is not installed; building x86_64 only"
fi

target_dir=$(cargo metadata --format-version 1 --no-deps | "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bins=()
for function in "${functions[@]}"; do
  bins+=(--bin "$function")
done

for target in "${targets[@]}"; do
  lambda_dir="$target_dir/lambda-$target"
  echo "== cargo lambda build --release --target $target"
  started=$SECONDS
  cargo lambda build --release --locked --target "$target" --output-format zip \
    --lambda-dir "$lambda_dir" "${bins[@]}"
  echo "built in $((SECONDS - started)) s"
  "$venv/bin/python" - "$target" "$lambda_dir" "${functions[@]}" <<'PY'
import os, sys, zipfile

target, lambda_dir, functions = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"{'function':<10} {'bootstrap':>12} {'zipped':>12}   ({target})")
for function in functions:
    path = os.path.join(lambda_dir, function, "bootstrap.zip")
    with zipfile.ZipFile(path) as archive:
        entry = archive.getinfo("bootstrap")
        if not entry.external_attr >> 16 & 0o100:
            sys.exit(f"{path}: bootstrap is not executable")
    print(f"{function:<10} {entry.file_size:>12,} {os.path.getsize(path):>12,}")
PY
done
