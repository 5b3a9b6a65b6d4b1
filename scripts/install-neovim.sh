#!/usr/bin/env bash
# Installs Neovim (Debian's package) for the end-to-end test of `writ lsp` in a real editor
# (crates/writ-cli/tests/lsp_neovim.rs). Does nothing when `nvim` is already there.
set -euo pipefail
if command -v nvim >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends neovim >/dev/null
nvim --version | head -1
