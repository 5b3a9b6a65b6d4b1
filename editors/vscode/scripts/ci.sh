#!/usr/bin/env bash
# CI for the VS Code extension: install the locked dependencies, compile the TypeScript and
# run the grammar and extension tests (no VS Code needed). Needs Node 20+ and npm.
#   editors/vscode/scripts/ci.sh            install, compile, test
#   editors/vscode/scripts/ci.sh --package  also build the .vsix (downloads @vscode/vsce)
# With WRIT_BIN set to a built `writ` (absolute path), test/server.test.js also starts
# `$WRIT_BIN lsp` the way the extension does and checks initialize, diagnostics and shutdown.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "editors/vscode: node and npm are needed (Node 20 or newer)" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "editors/vscode: Node 20 or newer is needed, found $(node --version)" >&2
  exit 1
fi

npm ci --no-audit --no-fund
npm run compile
npm test

if [ "${1:-}" = "--package" ]; then
  npm run package
fi
