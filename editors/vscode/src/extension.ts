// The Writ extension: the grammar and language configuration are contributed declaratively
// (package.json); this file starts the language server, `writ lsp`, over stdio and restarts
// it when its settings change.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  Executable,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
} from 'vscode-languageclient/node';

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('Writ Language Server');
  context.subscriptions.push(output);

  context.subscriptions.push(
    vscode.commands.registerCommand('writ.restartServer', () => restart()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('writ.server')) {
        void restart();
      }
    }),
  );

  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

/**
 * The command that runs the server, from the `writ.server.*` settings. A path may start with
 * `~/`; a relative path (`./target/debug/writ`) is taken from the first workspace folder,
 * where the server also runs. A bare name is left for the `PATH` lookup.
 */
function serverCommand(): { command: string; args: string[] } {
  const config = vscode.workspace.getConfiguration('writ.server');
  let command = config.get<string>('path', 'writ').trim() || 'writ';
  if (command === '~' || command.startsWith('~/') || command.startsWith('~\\')) {
    command = path.join(os.homedir(), command.slice(1));
  }
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!path.isAbsolute(command) && /[\\/]/.test(command) && folder?.uri.scheme === 'file') {
    command = path.resolve(folder.uri.fsPath, command);
  }
  const args = config.get<string[]>('args', ['lsp']);
  return { command, args: Array.isArray(args) ? args.map(String) : ['lsp'] };
}

/**
 * Where `command` runs from: itself if it names a path, else the first match on `PATH` (with
 * the `PATHEXT` extensions on Windows). Undefined if there is no such file.
 */
export function findExecutable(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const isFile = (p: string): boolean => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  const exts = process.platform === 'win32' ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')] : [''];
  if (command.includes('/') || command.includes(path.sep)) {
    return exts.map((e) => command + e).find(isFile);
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const found = exts.map((e) => path.join(dir, command + e)).find(isFile);
    if (found) return found;
  }
  return undefined;
}

async function reportNotStarted(text: string): Promise<void> {
  const choice = await vscode.window.showErrorMessage(
    `Writ: ${text}. Install \`writ\` on your PATH or set \`writ.server.path\`.`,
    'Open Settings',
  );
  if (choice === 'Open Settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'writ.server');
  }
}

async function start(): Promise<void> {
  const { command, args } = serverCommand();
  if (!findExecutable(command)) {
    // Checked here so that the user gets one message that names the setting, rather than
    // the client's generic "couldn't create connection to server".
    await reportNotStarted(`the language server \`${command}\` was not found`);
    return;
  }
  // No `transport`: an executable without one speaks over its stdin/stdout. (With
  // `TransportKind.stdio` the client would append `--stdio` to the arguments.)
  const run: Executable = { command, args };
  const serverOptions: ServerOptions = { run, debug: run };

  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'writ' },
      { scheme: 'untitled', language: 'writ' },
    ],
    synchronize: {
      // The server checks the whole workspace: tell it when files change on disk too.
      fileEvents: vscode.workspace.createFileSystemWatcher('**/*.writ'),
    },
    outputChannel: output,
  };

  // The id `writ` makes the `writ.trace.server` setting apply to this client.
  client = new LanguageClient('writ', 'Writ Language Server', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    client = undefined;
    const message = err instanceof Error ? err.message : String(err);
    await reportNotStarted(`could not start the language server \`${[command, ...args].join(' ')}\`: ${message}`);
  }
}

async function stop(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) {
    try {
      await c.stop();
    } catch {
      // The server may already be gone; nothing left to stop.
    }
  }
}

async function restart(): Promise<void> {
  await stop();
  await start();
}
