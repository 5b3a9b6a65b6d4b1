#!/usr/bin/env bash
# Checks the Vim/Neovim files of editors/nvim (filetype, ftplugin, syntax) headless, with
# `nvim` if there is one, else `vim`. Exit 0 when every expectation in syntax.vim holds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
export WRIT_SYNTAX_OUT=$out
if command -v nvim >/dev/null; then
  editor=(nvim --headless --clean -n --cmd "set rtp^=$(dirname "$here")" -S "$here/syntax.vim")
elif command -v vim >/dev/null; then
  editor=(vim -Nu NONE -n -es -S "$here/syntax.vim")
else
  echo "editors/nvim: neither nvim nor vim found; nothing checked" >&2
  exit 1
fi
if "${editor[@]}" </dev/null; then
  echo "editors/nvim: syntax, filetype and ftplugin ok (${editor[0]})"
else
  echo "editors/nvim: ${editor[0]} reported failures:" >&2
  cat "$out" >&2
  exit 1
fi
