// Grammar tests that run without VS Code: the TextMate grammar in syntaxes/ is loaded with
// vscode-textmate + vscode-oniguruma (the same engine VS Code uses) and run over every
// `.writ` file of the repository's examples/ and stdlib/, and over snippets.
// Run: `npm test` (or `node test/grammar.test.js`).
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const EXT = path.resolve(__dirname, '..');
const REPO = path.resolve(EXT, '..', '..');
const GRAMMAR = path.join(EXT, 'syntaxes', 'writ.tmLanguage.json');

// The words the lexer reserves (src/syntax/lexer.rs).
const KEYWORDS = [
  'schema', 'entity', 'enum', 'action', 'context', 'intent', 'import', 'fn', 'permit', 'forbid',
  'escalate', 'to', 'on', 'in', 'is', 'has', 'like', 'when', 'unless', 'because', 'grant', 'and',
  'or', 'not', 'if', 'then', 'else', 'all', 'any', 'true', 'false',
];

let grammarPromise;
function loadGrammar() {
  if (!grammarPromise) {
    const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    const onigLib = oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength)).then(() => ({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }));
    const registry = new vsctm.Registry({
      onigLib,
      loadGrammar: async (scopeName) => {
        if (scopeName !== 'source.writ') return null;
        return vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, 'utf8'), GRAMMAR);
      },
    });
    grammarPromise = registry.loadGrammar('source.writ');
  }
  return grammarPromise;
}

/** Tokenizes `text`: one array per line of `{ line, text, scopes }`. */
async function tokenize(text) {
  const grammar = await loadGrammar();
  let stack = vsctm.INITIAL;
  return text.split(/\r?\n/).map((line, i) => {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    return r.tokens.map((t) => ({
      line: i + 1,
      text: line.slice(t.startIndex, t.endIndex),
      scopes: t.scopes,
    }));
  });
}

/** The scopes of the `nth` (from 0) token whose text is exactly `word`. */
async function scopesOf(text, word, nth = 0) {
  const tokens = (await tokenize(text)).flat().filter((t) => t.text === word);
  assert.ok(tokens.length > nth, `no token ${JSON.stringify(word)} (#${nth}) in ${JSON.stringify(text)}; tokens: ${
    JSON.stringify((await tokenize(text)).flat().map((t) => t.text))}`);
  return tokens[nth].scopes;
}

/** Asserts that the `nth` token `word` of `text` has a scope equal to `scope` (a string) or matching it (a RegExp). */
async function expectScope(text, word, scope, nth = 0) {
  const scopes = await scopesOf(text, word, nth);
  const ok = scopes.some((s) => (typeof scope === 'string' ? s === scope : scope.test(s)));
  assert.ok(ok, `${JSON.stringify(word)} in ${JSON.stringify(text)}: expected ${scope}, got ${scopes.join(' ')}`);
}

async function expectNoScope(text, word, scope, nth = 0) {
  const scopes = await scopesOf(text, word, nth);
  const bad = scopes.find((s) => (typeof scope === 'string' ? s === scope : scope.test(s)));
  assert.equal(bad, undefined, `${JSON.stringify(word)} in ${JSON.stringify(text)}: unexpected ${bad}`);
}

function writFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...writFiles(p));
    else if (e.name.endsWith('.writ')) out.push(p);
  }
  return out.sort();
}

const shipped = [...writFiles(path.join(REPO, 'examples')), ...writFiles(path.join(REPO, 'stdlib'))];

test('the repository ships example files to check', () => {
  assert.ok(writFiles(path.join(REPO, 'examples')).length >= 10, `examples under ${REPO}/examples`);
  assert.ok(shipped.some((f) => f.endsWith(path.join('stdlib', 'time.writ'))));
});

// Files that lex and parse: the examples, the standard library, and the parser's golden
// tests that expect no syntax error (their header has no P code).
const wellFormed = [
  ...shipped,
  ...writFiles(path.join(REPO, 'tests', 'ui')).filter((f) => {
    const codes = expectedCodes(fs.readFileSync(f, 'utf8'));
    return codes.length > 0 && !codes.some((c) => c.startsWith('P'));
  }),
];

for (const file of wellFormed) {
  const rel = path.relative(REPO, file);
  test(`${rel}: no invalid token, every keyword highlighted`, async () => {
    const lines = await tokenize(fs.readFileSync(file, 'utf8'));
    for (const t of lines.flat()) {
      const bad = t.scopes.find((s) => s.startsWith('invalid'));
      assert.equal(bad, undefined, `${rel}:${t.line}: ${JSON.stringify(t.text)} is ${bad}`);
      if (!KEYWORDS.includes(t.text)) continue;
      if (t.scopes.some((s) => s.startsWith('comment') || s.startsWith('string'))) continue;
      const last = t.scopes[t.scopes.length - 1];
      assert.match(last, /^(keyword|variable\.language|constant\.language|variable\.other\.property)\./,
        `${rel}:${t.line}: keyword ${JSON.stringify(t.text)} is ${last}`);
    }
  });
}

// The parser's golden tests (tests/ui) say in a header which diagnostics each file gives.
// The lexical ones the grammar can see, one per refused token: unknown characters (P0003),
// unterminated strings (P0004), bad escapes (P0005), bad durations (P0010). The grammar
// marks exactly as many tokens invalid as the file expects of these.
const LEXICAL = ['P0003', 'P0004', 'P0005', 'P0010'];
const uiFiles = writFiles(path.join(REPO, 'tests', 'ui'));

test('the parser tests ship files with lexical errors', () => {
  const codes = uiFiles.flatMap((f) => expectedCodes(fs.readFileSync(f, 'utf8')));
  for (const code of LEXICAL) assert.ok(codes.includes(code), `no tests/ui file expects ${code}`);
});

function expectedCodes(text) {
  const m = /^\/\/@ expect:(.*)$/m.exec(text);
  return m ? m[1].trim().split(/\s+/) : [];
}

for (const file of uiFiles) {
  const rel = path.relative(REPO, file);
  const text = fs.readFileSync(file, 'utf8');
  const codes = expectedCodes(text);
  // Invalid UTF-8 cannot be shown to a grammar; files of a multi-file case share one header.
  if (codes.includes('P0009') || codes.length === 0) continue;
  test(`${rel}: invalid tokens where the lexer reports errors`, async () => {
    const invalid = (await tokenize(text)).flat().filter((t) => t.scopes.some((s) => s.startsWith('invalid')));
    const want = codes.filter((c) => LEXICAL.includes(c)).length;
    assert.equal(invalid.length, want,
      `${rel}: expected ${want} invalid tokens (${codes.join(' ')}), got ${
        JSON.stringify(invalid.map((t) => `${t.line}:${t.text}`))}`);
  });
}

test('a whole policy file tokenizes as expected', async () => {
  const src = fs.readFileSync(path.join(REPO, 'examples', 'human-approval', 'tools.writ'), 'utf8');
  const toks = (await tokenize(src)).flat();
  const find = (text) => toks.find((t) => t.text === text);
  assert.ok(find('@').scopes.includes('punctuation.definition.annotation.writ'));
  assert.ok(find('permit').scopes.includes('keyword.control.effect.permit.writ'));
  assert.ok(toks.some((t) => t.scopes.includes('comment.line.documentation.writ')));
  assert.ok(toks.some((t) => t.scopes.includes('constant.numeric.duration.writ')));
});

test('effects, target and clause keywords', async () => {
  const rule = 'permit Agent to call_tool on Tool when a unless b because "x" grant { ttl: 15m };';
  await expectScope(rule, 'permit', 'keyword.control.effect.permit.writ');
  await expectScope('forbid * to * on *;', 'forbid', 'keyword.control.effect.forbid.writ');
  await expectScope('escalate A to b on C;', 'escalate', 'keyword.control.effect.escalate.writ');
  await expectScope(rule, 'Agent', 'entity.name.type.writ');
  await expectScope(rule, 'to', 'keyword.other.target.to.writ');
  await expectScope(rule, 'call_tool', 'entity.name.function.action.writ');
  await expectScope(rule, 'on', 'keyword.other.target.on.writ');
  for (const kw of ['when', 'unless', 'because', 'grant']) {
    await expectScope(rule, kw, `keyword.control.clause.${kw}.writ`);
  }
  await expectScope(rule, 'ttl', 'variable.other.property.writ');
  await expectScope('permit A to [read, write] on B;', 'write', 'entity.name.function.action.writ');
  await expectScope('intent t "d" { call_tool on ToolGroup::"x" }', 'call_tool', 'entity.name.function.action.writ');
});

test('wildcards are not multiplication', async () => {
  for (let i = 0; i < 3; i++) await expectScope('forbid * to * on *', '*', 'keyword.operator.wildcard.writ', i);
  await expectScope('forbid * to * on * when a * 2 > 3;', '*', 'keyword.operator.arithmetic.writ', 3);
});

test('declaration keywords', async () => {
  await expectScope('schema {', 'schema', 'keyword.declaration.schema.writ');
  await expectScope('  entity Agent in Team | Org { owner: Human }', 'entity', 'keyword.declaration.entity.writ');
  await expectScope('  entity Agent in Team | Org { owner: Human }', 'Agent', 'entity.name.type.entity.writ');
  await expectScope('  entity Agent in Team | Org { owner: Human }', 'in', 'keyword.operator.expression.in.writ');
  await expectScope('  entity Agent in Team | Org { owner: Human }', 'owner', 'variable.other.property.writ');
  await expectScope('  enum Level { public, secret }', 'enum', 'keyword.declaration.enum.writ');
  await expectScope('  enum Level { public, secret }', 'Level', 'entity.name.type.enum.writ');
  const action = '  action read_secret: Agent | ServiceAccount -> Secret { credential_age: Duration }';
  await expectScope(action, 'action', 'keyword.declaration.action.writ');
  await expectScope(action, 'read_secret', 'entity.name.function.action.writ');
  await expectScope(action, '->', 'keyword.operator.arrow.writ');
  await expectScope(action, 'Duration', 'support.type.builtin.writ');
  await expectScope(action, 'credential_age', 'variable.other.property.writ');
  const group = '  action group secrets = [read_secret, rotate_secret]';
  await expectScope(group, 'group', 'keyword.declaration.group.writ');
  await expectScope(group, 'secrets', 'entity.name.function.action-group.writ');
  await expectScope('  context { now: Timestamp, approved: Bool? }', 'context', 'keyword.declaration.context.writ');
  await expectScope('  context { now: Timestamp, approved: Bool? }', '?', 'keyword.operator.optional.writ');
  await expectScope('intent triage "Read tickets" {', 'intent', 'keyword.declaration.intent.writ');
  await expectScope('intent triage "Read tickets" {', 'triage', 'entity.name.type.intent.writ');
  await expectScope('  @max_delegation(4)', 'max_delegation', 'storage.type.annotation.writ');
  await expectScope('  @max_delegation(4)', '4', 'constant.numeric.integer.decimal.writ');
});

test('functions and imports', async () => {
  const fn = 'fn in_any_range(a: Ip, ranges: Set<Ip>) -> Bool = any r in ranges: a.in_range(r);';
  await expectScope(fn, 'fn', 'keyword.declaration.fn.writ');
  await expectScope(fn, 'in_any_range', 'entity.name.function.writ');
  await expectScope(fn, 'ranges', 'variable.parameter.writ');
  await expectScope(fn, 'Set', 'support.type.builtin.writ');
  await expectScope(fn, 'Ip', 'support.type.builtin.writ', 1);
  await expectScope(fn, '<', 'punctuation.definition.generic.begin.writ');
  await expectScope(fn, 'Bool', 'support.type.builtin.writ');
  await expectScope(fn, 'any', 'keyword.control.quantifier.writ');
  await expectNoScope(fn, 'ranges', 'variable.other.property.writ', 1);
  await expectScope(fn, 'in_range', 'entity.name.function.method.writ');
  await expectScope('import std.time', 'import', 'keyword.control.import.writ');
  await expectScope('import std.time', 'time', 'entity.name.namespace.writ');
  const imp = 'import "./helpers.writ" as helpers;';
  await expectScope(imp, 'as', 'keyword.control.import.as.writ');
  await expectScope(imp, 'helpers', 'entity.name.namespace.writ');
  await expectScope(imp, './helpers.writ', 'string.quoted.double.writ');
  const call = 'when time.business_hours(context.now)';
  await expectScope(call, 'time', 'entity.name.namespace.writ');
  await expectScope(call, 'business_hours', 'entity.name.function.writ');
  await expectScope(call, 'context', 'variable.language.writ');
  await expectScope(call, 'now', 'variable.other.property.writ');
});

test('expression operators and quantifiers', async () => {
  const e = 'when all h in on_behalf_of: h is Human in Team::"ops" and not (h has x) or p like "a*"';
  await expectScope(e, 'all', 'keyword.control.quantifier.writ');
  await expectScope(e, 'in', 'keyword.operator.expression.in.writ');
  await expectScope(e, 'is', 'keyword.operator.expression.is.writ');
  await expectScope(e, 'has', 'keyword.operator.expression.has.writ');
  await expectScope(e, 'like', 'keyword.operator.expression.like.writ');
  await expectScope(e, 'and', 'keyword.operator.expression.and.writ');
  await expectScope(e, 'or', 'keyword.operator.expression.or.writ');
  await expectScope(e, 'not', 'keyword.operator.expression.not.writ');
  await expectScope(e, 'on_behalf_of', 'variable.language.writ');
  await expectScope('if a then b else c', 'then', 'keyword.control.conditional.writ');
  await expectScope('x == true and y != false', 'true', 'constant.language.boolean.writ');
  await expectScope('intent == none', 'none', 'constant.language.none.writ');
  await expectScope('intent == none', 'intent', 'variable.language.writ');
  await expectScope('intent in [a, b]', 'intent', 'variable.language.writ');
  await expectScope('a <= b', '<=', 'keyword.operator.comparison.writ');
  await expectScope('resource.sensitivity <= Level.internal', 'internal', 'variable.other.enummember.writ');
  await expectScope('principal.workload.starts_with("x")', 'starts_with', 'entity.name.function.method.writ');
});

test('keywords used as field names are fields', async () => {
  await expectScope('when context.action == a', 'action', 'variable.other.property.writ');
  await expectScope('grant { intent: "x", to: 1 }', 'intent', 'variable.other.property.writ');
  await expectScope('grant { intent: "x", to: 1 }', 'to', 'variable.other.property.writ');
  await expectScope('when context has context', 'context', 'variable.language.writ');
  await expectScope('when context has context', 'context', 'variable.other.property.writ', 1);
  await expectScope('when principal has max_delegation', 'max_delegation', 'variable.other.property.writ');
});

test('strings and escapes', async () => {
  const s = 'because "a \\"quoted\\" \\\\ \\n \\t \\u{1F600} word";';
  await expectScope(s, 'a ', 'string.quoted.double.writ');
  for (const esc of ['\\"', '\\\\', '\\n', '\\t', '\\u{1F600}']) {
    await expectScope(s, esc, 'constant.character.escape.writ');
  }
  await expectScope('"bad \\q escape"', '\\q', 'invalid.illegal.escape.writ');
  await expectScope('"bad \\u{zz} escape"', '\\u{zz}', 'invalid.illegal.escape.writ');
  for (const esc of ['\\u{10FFFF}', '\\u{0}', '\\u{D7FF}', '\\u{E000}']) {
    await expectScope(`"${esc}"`, esc, 'constant.character.escape.writ');
  }
  for (const esc of ['\\u{110000}', '\\u{D800}', '\\u{0DFFF}', '\\u{1234567}', '\\u{}']) {
    await expectScope(`"${esc}"`, esc, 'invalid.illegal.escape.writ');
  }
  // An unterminated string is refused and ends with its line, as in the lexer.
  await expectScope('because "open', '"open', 'invalid.illegal.unterminated-string.writ');
  await expectScope('because "open', '"open', 'string.quoted.double.writ');
  await expectScope('because "open\npermit A to b on C;', 'permit', 'keyword.control.effect.permit.writ');
  await expectNoScope('because "closed" // "', 'closed', /^invalid/);
  await expectScope('"// not a comment"', '// not a comment', 'string.quoted.double.writ');
});

test('numbers and durations', async () => {
  for (const d of ['500ms', '30s', '15m', '2h', '7d', '1h30m', '1d2h3m4s5ms', '1m5ms']) {
    await expectScope(`x < ${d};`, d, 'constant.numeric.duration.writ');
  }
  for (const bad of ['30m1h', '1h1h', '10x', '5sec', '1ms1s']) {
    await expectScope(`x < ${bad};`, bad, 'invalid.illegal.numeric.writ');
  }
  await expectScope('x > 10000', '10000', 'constant.numeric.integer.decimal.writ');
  await expectScope('x > -3', '-', 'keyword.operator.arithmetic.writ');
});

test('typed literal constructors', async () => {
  await expectScope('context.source_ip.in_range(ip("10.0.0.0/8"))', 'ip', 'support.function.builtin.writ');
  await expectScope('context.source_ip.in_range(ip("10.0.0.0/8"))', '10.0.0.0/8', 'string.quoted.double.writ');
  await expectScope('t < timestamp("2026-01-01T00:00:00Z")', 'timestamp', 'support.function.builtin.writ');
  await expectScope('t < duration("15m")', 'duration', 'support.function.builtin.writ');
});

test('comments', async () => {
  await expectScope('permit A to b on C; // trailing', ' trailing', 'comment.line.double-slash.writ');
  await expectScope('/// Docs with `code`.', ' Docs with ', 'comment.line.documentation.writ');
  await expectScope('/// Docs with `code`.', '`code`', 'markup.inline.raw.writ');
  await expectNoScope('/// Docs', ' Docs', 'comment.line.double-slash.writ');
  // `////` is an ordinary comment, as in the lexer.
  await expectScope('//// rule', '// rule', 'comment.line.double-slash.writ');
  await expectNoScope('//// rule', '// rule', 'comment.line.documentation.writ');
  const block = '/* one\n permit two */ forbid';
  await expectScope(block, ' one', 'comment.block.writ');
  await expectScope(block, ' permit two ', 'comment.block.writ');
  await expectScope(block, 'forbid', 'keyword.control.effect.forbid.writ');
});

test('annotations', async () => {
  const a = '@id("agent-tools")';
  await expectScope(a, '@', 'punctuation.definition.annotation.writ');
  await expectScope(a, 'id', 'storage.type.annotation.writ');
  await expectScope(a, 'id', 'meta.annotation.writ');
  await expectScope(a, 'agent-tools', 'string.quoted.double.writ');
});

test('entity references', async () => {
  const r = 'permit Agent in Team::"ops" to call_tool on Tool::"jira.comment";';
  await expectScope(r, 'Team', 'entity.name.type.writ');
  await expectScope(r, 'Team', 'meta.entity-reference.writ');
  await expectScope(r, '::', 'punctuation.separator.namespace.writ');
  await expectScope(r, 'ops', 'string.quoted.double.writ');
  await expectScope(r, 'ops', 'meta.entity-reference.writ');
  await expectScope(r, 'to', 'keyword.other.target.to.writ');
  await expectNoScope(r, 'to', 'meta.entity-reference.writ');
  // An unterminated id does not carry the reference over to the next line.
  await expectNoScope('x == T::"open\nforbid', 'forbid', 'meta.entity-reference.writ');
});

test('characters the lexer refuses are invalid', async () => {
  for (const [src, bad] of [['a # b', '#'], ['a && b', '&'], ['$x', '$'], ['!a', '!'], ['a / b', '/'], ['é', 'é']]) {
    await expectScope(src, bad, 'invalid.illegal.character.writ');
  }
  await expectNoScope('a != b', '!=', /^invalid/);
});

test('the grammar JSON is the one scripts/grammar.js writes', () => {
  const { render, OUT } = require('../scripts/grammar.js');
  assert.equal(path.resolve(OUT), GRAMMAR);
  assert.ok(fs.readFileSync(GRAMMAR, 'utf8') === render(),
    'syntaxes/writ.tmLanguage.json is stale: run `npm run grammar`');
});

test('language configuration and manifest', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(EXT, 'package.json'), 'utf8'));
  const lang = pkg.contributes.languages.find((l) => l.id === 'writ');
  assert.deepEqual(lang.extensions, ['.writ']);
  const gram = pkg.contributes.grammars.find((g) => g.language === 'writ');
  assert.equal(gram.scopeName, JSON.parse(fs.readFileSync(GRAMMAR, 'utf8')).scopeName);
  assert.ok(fs.existsSync(path.join(EXT, gram.path)));
  const props = pkg.contributes.configuration.properties;
  assert.equal(props['writ.server.path'].default, 'writ');
  assert.deepEqual(props['writ.server.args'].default, ['lsp']);
  // A folder the user does not trust cannot choose the program the extension runs.
  assert.deepEqual(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.sort(),
    ['writ.server.args', 'writ.server.path']);

  const conf = JSON.parse(fs.readFileSync(path.join(EXT, lang.configuration), 'utf8'));
  assert.equal(conf.comments.lineComment, '//');
  assert.deepEqual(conf.comments.blockComment, ['/*', '*/']);
  const word = new RegExp(conf.wordPattern, 'g');
  assert.deepEqual('call_tool-x 1h30m on_behalf_of'.match(word), ['call_tool', 'x', '1h30m', 'on_behalf_of']);
  assert.ok(conf.autoClosingPairs.some((p) => p.open === '"' && p.close === '"'));
  const closed = conf.brackets.map((b) => b.join(''));
  for (const pair of ['{}', '[]', '()']) assert.ok(closed.includes(pair), pair);
});

test('enum variants', async () => {
  const e = 'enum Level {\n  public, // least\n  secret\n}\npermit A to b on C;';
  await expectScope(e, 'public', 'variable.other.enummember.writ');
  await expectScope(e, 'secret', 'variable.other.enummember.writ');
  await expectScope(e, '}', 'punctuation.section.braces.end.writ');
  await expectNoScope(e, 'permit', 'meta.enum.writ');
});
