// Tests of src/extension.ts (compiled to out/) without VS Code: `vscode` and
// `vscode-languageclient/node` are replaced by fakes that record how the language server
// would be started. Run `npm run compile` first (`npm test` does not compile).
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const Module = require('node:module');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');

const OUT = path.resolve(__dirname, '..', 'out', 'extension.js');

// Stand-in server binaries: the extension looks its command up before starting a client.
const BIN = fs.mkdtempSync(path.join(os.tmpdir(), 'writ-ext-test-'));
for (const name of ['writ', 'custom-writ', 'other-writ']) {
  fs.writeFileSync(path.join(BIN, name), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
}
process.env.PATH = BIN + path.delimiter + (process.env.PATH || '');
process.on('exit', () => fs.rmSync(BIN, { recursive: true, force: true }));

/** Loads the compiled extension against fakes; returns it with the fakes' records. */
function load(settings, workspaceFolders = undefined) {
  const rec = { clients: [], commands: new Map(), configListeners: [], errors: [], watchers: [] };
  const vscode = {
    window: {
      createOutputChannel: (name) => ({ name, dispose() {} }),
      showErrorMessage: async (msg) => { rec.errors.push(msg); return undefined; },
    },
    commands: {
      registerCommand: (id, fn) => { rec.commands.set(id, fn); return { dispose() {} }; },
      executeCommand: async () => undefined,
    },
    workspace: {
      getConfiguration: (section) => ({
        get: (key, dflt) => {
          const v = settings[`${section}.${key}`];
          return v === undefined ? dflt : v;
        },
      }),
      onDidChangeConfiguration: (fn) => { rec.configListeners.push(fn); return { dispose() {} }; },
      createFileSystemWatcher: (glob) => { rec.watchers.push(glob); return { glob, dispose() {} }; },
      workspaceFolders,
    },
  };
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, started: false, stopped: false });
      rec.clients.push(this);
    }
    async start() {
      if (rec.failStart) throw new Error('spawn writ ENOENT');
      this.started = true;
    }
    async stop() { this.stopped = true; }
  }
  const client = { LanguageClient, TransportKind: { stdio: 0, ipc: 1, pipe: 2, socket: 3 } };

  const realLoad = Module._load;
  Module._load = function (request, parent, isMain) {
    if (request === 'vscode') return vscode;
    if (request === 'vscode-languageclient/node') return client;
    return realLoad.call(this, request, parent, isMain);
  };
  try {
    delete require.cache[OUT];
    return { ext: require(OUT), rec };
  } finally {
    Module._load = realLoad;
  }
}

const context = () => ({ subscriptions: [] });

test('starts `writ lsp` over stdio by default', async () => {
  const { ext, rec } = load({});
  await ext.activate(context());
  assert.equal(rec.clients.length, 1);
  const c = rec.clients[0];
  assert.equal(c.id, 'writ');
  assert.ok(c.started);
  // Exactly `writ lsp`: no `transport`, which for an executable would add `--stdio`.
  assert.deepEqual(c.serverOptions.run, { command: 'writ', args: ['lsp'] });
  assert.deepEqual(c.serverOptions.debug, c.serverOptions.run);
  assert.deepEqual(c.clientOptions.documentSelector.map((d) => d.language), ['writ', 'writ']);
  assert.deepEqual(rec.watchers, ['**/*.writ']);
  await ext.deactivate();
  assert.ok(c.stopped);
});

test('uses writ.server.path and writ.server.args', async () => {
  const custom = path.join(BIN, 'custom-writ');
  const { ext, rec } = load({ 'writ.server.path': custom, 'writ.server.args': ['lsp', '--log', 'debug'] });
  await ext.activate(context());
  assert.deepEqual(rec.clients[0].serverOptions.run, { command: custom, args: ['lsp', '--log', 'debug'] });
  await ext.deactivate();
});

test('a relative writ.server.path is taken from the workspace folder, `~/` from home', async () => {
  const folder = { uri: { scheme: 'file', fsPath: path.dirname(BIN) } };
  let { ext, rec } = load({ 'writ.server.path': `./${path.basename(BIN)}/custom-writ` }, [folder]);
  await ext.activate(context());
  assert.equal(rec.clients[0].serverOptions.run.command, path.join(BIN, 'custom-writ'));
  await ext.deactivate();

  ({ ext, rec } = load({ 'writ.server.path': '~/no-such-writ-binary' }, [folder]));
  await ext.activate(context());
  assert.equal(rec.clients.length, 0);
  assert.ok(rec.errors[0].includes(path.join(os.homedir(), 'no-such-writ-binary')), rec.errors[0]);
  await ext.deactivate();
});

test('a change of writ.server settings restarts the server; other changes do not', async () => {
  const settings = {};
  const { ext, rec } = load(settings);
  await ext.activate(context());
  const [listener] = rec.configListeners;
  await listener({ affectsConfiguration: (s) => s === 'editor' });
  assert.equal(rec.clients.length, 1);
  settings['writ.server.path'] = 'other-writ';
  await listener({ affectsConfiguration: (s) => s === 'writ.server' });
  // The restart runs asynchronously: wait for it.
  for (let i = 0; i < 50 && rec.clients.length < 2; i++) await new Promise((r) => setImmediate(r));
  assert.equal(rec.clients.length, 2);
  assert.ok(rec.clients[0].stopped);
  assert.equal(rec.clients[1].serverOptions.run.command, 'other-writ');
  assert.ok(rec.commands.has('writ.restartServer'));
  await ext.deactivate();
});

test('a server binary that is not there is reported once, and no client starts', async () => {
  const { ext, rec } = load({ 'writ.server.path': 'no-such-writ-binary' });
  await ext.activate(context());
  assert.equal(rec.clients.length, 0);
  assert.equal(rec.errors.length, 1);
  assert.match(rec.errors[0], /`no-such-writ-binary` was not found/);
  assert.match(rec.errors[0], /writ\.server\.path/);
  await ext.deactivate();
});

test('a server that fails to start is reported, not thrown', async () => {
  const { ext, rec } = load({ 'writ.server.path': process.execPath });
  rec.failStart = true;
  await ext.activate(context());
  assert.equal(rec.errors.length, 1);
  assert.match(rec.errors[0], /could not start the language server `.* lsp`: spawn writ ENOENT/);
  await ext.deactivate();
});

test('findExecutable looks on PATH and at paths', () => {
  const { ext } = load({});
  const dir = path.dirname(process.execPath);
  const name = path.basename(process.execPath);
  assert.equal(ext.findExecutable(name, { PATH: ['/nonexistent', dir].join(path.delimiter) }), process.execPath);
  assert.equal(ext.findExecutable(name, { PATH: '/nonexistent' }), undefined);
  assert.equal(ext.findExecutable(process.execPath, { PATH: '' }), process.execPath);
  assert.equal(ext.findExecutable(path.join(dir, 'no-such-writ-binary'), { PATH: dir }), undefined);
  // A directory on PATH with the command's name is not the command.
  assert.equal(ext.findExecutable(path.basename(dir), { PATH: path.dirname(dir) }), undefined);
});
