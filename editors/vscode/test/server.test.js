// The language server as the extension starts it: `$WRIT_BIN lsp` (exactly the default
// `writ.server.args`, nothing appended), spoken to over stdio with vscode-jsonrpc, the
// library vscode-languageclient uses. Skipped unless WRIT_BIN names a built `writ`, e.g.
//   WRIT_BIN=$PWD/../../target/debug/writ npm test
'use strict';

const assert = require('node:assert/strict');
const cp = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');
const { pathToFileURL } = require('node:url');
const rpc = require('vscode-jsonrpc/node');

const BIN = process.env.WRIT_BIN;
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
const ARGS = pkg.contributes.configuration.properties['writ.server.args'].default;

// A guard against a server that never answers: the test fails instead of hanging.
function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test('`writ lsp` initializes, publishes diagnostics and shuts down', { skip: !BIN && 'WRIT_BIN is not set' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'writ-vscode-'));
  const file = path.join(dir, 'broken.writ');
  const text = 'permit Agent to call_tool on Tool\n  when context.risk < 50 && true;\n';
  fs.writeFileSync(file, text);
  const server = cp.spawn(BIN, ARGS, { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
  const conn = rpc.createMessageConnection(
    new rpc.StreamMessageReader(server.stdout), new rpc.StreamMessageWriter(server.stdin));
  const uri = pathToFileURL(file).href;
  const diagnostics = new Promise((resolve) => {
    conn.onNotification('textDocument/publishDiagnostics', (p) => {
      if (p.uri === uri && p.diagnostics.length > 0) resolve(p.diagnostics);
    });
  });
  conn.listen();
  try {
    const init = await within(20000, conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'policies' }],
      capabilities: { general: { positionEncodings: ['utf-16'] } },
    }), 'initialize result');
    assert.ok(init.capabilities, 'initialize result has capabilities');
    assert.ok(init.capabilities.textDocumentSync !== undefined, 'the server syncs documents');
    await conn.sendNotification('initialized', {});
    await conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'writ', version: 1, text },
    });
    const diags = await within(20000, diagnostics, 'diagnostics for the open file');
    // `&&` is two characters the lexer refuses, on the second line (zero-based 1).
    assert.ok(diags.some((d) => d.range.start.line === 1), JSON.stringify(diags));
    await within(20000, conn.sendRequest('shutdown'), 'shutdown result');
    await conn.sendNotification('exit');
    assert.equal(await within(20000, exited, 'exit of the server'), 0);
  } finally {
    conn.dispose();
    server.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
