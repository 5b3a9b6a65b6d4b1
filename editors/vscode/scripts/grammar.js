#!/usr/bin/env node
// The source of syntaxes/writ.tmLanguage.json, the TextMate grammar of Writ. Edit this file,
// then run `npm run grammar` (node scripts/grammar.js) to write the JSON; the grammar tests
// fail while the two differ.
//
// The grammar follows the lexer (src/syntax/lexer.rs) and the parser (grammar/writ.lalrpop)
// of the repository. It is flat on purpose: nearly every rule is a one-line match, so a
// half-typed rule never leaves the rest of the file in the wrong scope; the few begin/end
// rules (strings, block comments, entity references, fn parameters, `Set<…>`, `enum { … }`,
// `to [ … ]`, annotation arguments, imports) all end at a closing token or, where a line
// cannot hold more, at the end of the line.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

// The words the lexer reserves.
const KW = 'schema|entity|enum|action|context|intent|import|fn|permit|forbid|escalate|to|on|in|is|has|like|when|unless|because|grant|and|or|not|if|then|else|all|any|true|false';
// An identifier or a keyword: field names after `.`, `has`, and in `{ }` may be keywords.
const ANY = String.raw`[A-Za-z_][A-Za-z0-9_]*`;
// An identifier proper.
const ID = String.raw`(?!(?:` + KW + String.raw`)\b)` + ANY;
// The built-in types of the checker.
const TYPES = 'Bool|Int|String|Duration|Timestamp|Ip|Set|Intent';

/** Captures 1, 2, … named in order (a falsy name leaves that group unnamed). */
function cap(...names) {
  const out = {};
  names.forEach((n, i) => {
    if (n) out[String(i + 1)] = { name: n };
  });
  return out;
}

const grammar = {
  "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
  "name": "Writ",
  "scopeName": "source.writ",
  "fileTypes": ["writ"],
  "patterns": [
    {"include": "#comments"},
    {"include": "#annotation"},
    {"include": "#import"},
    {"include": "#fn-declaration"},
    {"include": "#declarations"},
    {"include": "#targets"},
    {"include": "#expressions"},
  ],
  "repository": {
    "comments": {"patterns": [
      {"name": "comment.line.documentation.writ",
       "begin": String.raw`///(?!/)`, "end": String.raw`$`,
       "beginCaptures": {"0": {"name": "punctuation.definition.comment.writ"}},
       "patterns": [{"name": "markup.inline.raw.writ", "match": "`[^`]*`"}]},
      {"name": "comment.line.double-slash.writ",
       "begin": String.raw`//`, "end": String.raw`$`,
       "beginCaptures": {"0": {"name": "punctuation.definition.comment.writ"}}},
      {"name": "comment.block.writ",
       "begin": String.raw`/\*`, "end": String.raw`\*/`,
       "beginCaptures": {"0": {"name": "punctuation.definition.comment.begin.writ"}},
       "endCaptures": {"0": {"name": "punctuation.definition.comment.end.writ"}}},
    ]},
    "string": {"patterns": [
      {"comment": "A string with no closing quote on its line, as the lexer refuses it.",
       "name": "string.quoted.double.writ",
       "match": String.raw`"(?:[^"\\]|\\.)*\\?$`,
       "captures": {"0": {"name": "invalid.illegal.unterminated-string.writ"}}},
      {"include": "#string-body"},
    ]},
    "string-body": {
      "name": "string.quoted.double.writ",
      "begin": String.raw`"`, "end": String.raw`(")|$`,
      "beginCaptures": {"0": {"name": "punctuation.definition.string.begin.writ"}},
      "endCaptures": {"1": {"name": "punctuation.definition.string.end.writ"}},
      "patterns": [
        {"name": "constant.character.escape.writ",
         "comment": "`\\u{…}`: one to six hex digits naming a Unicode scalar value (no surrogate, at most 10FFFF).",
         "match": String.raw`\\(?:["\\nt]|u\{(?=[0-9A-Fa-f]{1,6}\})(?!0*(?:[Dd][89A-Fa-f][0-9A-Fa-f]{2}|1[1-9A-Fa-f][0-9A-Fa-f]{4}|[2-9A-Fa-f][0-9A-Fa-f]{5})\})[0-9A-Fa-f]{1,6}\})`},
        {"name": "invalid.illegal.escape.writ", "match": String.raw`\\u(?:\{[^}"]*\}?)?|\\.?`},
      ]},
    "entity-reference": {
      "name": "meta.entity-reference.writ",
      "begin": String.raw`\b(` + ID + String.raw`)\s*(::)(?=\s*\")`,
      "end": String.raw`(?<=")|$`,
      "beginCaptures": cap("entity.name.type.writ", "punctuation.separator.namespace.writ"),
      "patterns": [{"include": "#string"}]},
    "annotation": {"patterns": [
      {"name": "meta.annotation.writ",
       "begin": String.raw`(@)\s*(` + ANY + String.raw`)\s*(\()`, "end": String.raw`\)`,
       "beginCaptures": cap("punctuation.definition.annotation.writ", "storage.type.annotation.writ",
                            "punctuation.section.parens.begin.writ"),
       "endCaptures": {"0": {"name": "punctuation.section.parens.end.writ"}},
       "patterns": [{"include": "#comments"}, {"include": "#string"}, {"include": "#numbers"},
                    {"include": "#invalid"}]},
      {"name": "meta.annotation.writ",
       "match": String.raw`(@)\s*(` + ANY + String.raw`)?`,
       "captures": cap("punctuation.definition.annotation.writ", "storage.type.annotation.writ")},
    ]},
    "import": {
      "name": "meta.import.writ",
      "begin": String.raw`\b(import)\b`, "end": String.raw`(;)|$`,
      "beginCaptures": cap("keyword.control.import.writ"),
      "endCaptures": cap("punctuation.terminator.writ"),
      "patterns": [
        {"include": "#comments"},
        {"include": "#string"},
        {"match": String.raw`\b(as)\b\s*(` + ID + String.raw`)?`,
         "captures": cap("keyword.control.import.as.writ", "entity.name.namespace.writ")},
        {"name": "entity.name.namespace.writ", "match": ID},
        {"name": "punctuation.accessor.writ", "match": String.raw`\.`},
        {"include": "#invalid"},
      ]},
    "fn-declaration": {"patterns": [
      {"name": "meta.function.declaration.writ",
       "begin": String.raw`\b(fn)\s+(` + ID + String.raw`)\s*(\()`, "end": String.raw`\)`,
       "beginCaptures": cap("keyword.declaration.fn.writ", "entity.name.function.writ",
                            "punctuation.section.parens.begin.writ"),
       "endCaptures": {"0": {"name": "punctuation.section.parens.end.writ"}},
       "patterns": [
         {"include": "#comments"},
         {"match": String.raw`\b(` + ID + String.raw`)\s*(:)(?!:)`,
          "captures": cap("variable.parameter.writ", "punctuation.separator.colon.writ")},
         {"include": "#type-expression"},
         {"include": "#punctuation"},
         {"include": "#invalid"},
       ]},
      {"match": String.raw`\b(fn)\b(?:\s+(` + ID + String.raw`))?`,
       "captures": cap("keyword.declaration.fn.writ", "entity.name.function.writ")},
    ]},
    "declarations": {"patterns": [
      {"match": String.raw`\b(schema)\b`, "captures": cap("keyword.declaration.schema.writ")},
      {"match": String.raw`\b(entity)\b(?:\s+(` + ID + String.raw`))?`,
       "captures": cap("keyword.declaration.entity.writ", "entity.name.type.entity.writ")},
      {"name": "meta.enum.writ",
       "begin": String.raw`\b(enum)\s+(` + ID + String.raw`)\s*(\{)`, "end": String.raw`\}`,
       "beginCaptures": cap("keyword.declaration.enum.writ", "entity.name.type.enum.writ",
                            "punctuation.section.braces.begin.writ"),
       "endCaptures": {"0": {"name": "punctuation.section.braces.end.writ"}},
       "patterns": [
         {"include": "#comments"},
         {"name": "variable.other.enummember.writ", "match": ID},
         {"name": "punctuation.separator.comma.writ", "match": ","},
         {"include": "#invalid"},
       ]},
      {"match": String.raw`\b(enum)\b(?:\s+(` + ID + String.raw`))?`,
       "captures": cap("keyword.declaration.enum.writ", "entity.name.type.enum.writ")},
      {"match": String.raw`\b(action)\s+(group)\s+(` + ID + String.raw`)`,
       "captures": cap("keyword.declaration.action.writ", "keyword.declaration.group.writ",
                       "entity.name.function.action-group.writ")},
      {"match": String.raw`\b(action)\s+(` + ID + String.raw`)(?=\s*:(?!:))`,
       "captures": cap("keyword.declaration.action.writ", "entity.name.function.action.writ")},
      {"match": String.raw`\b(context)(?=\s*\{)`, "captures": cap("keyword.declaration.context.writ")},
      {"match": String.raw`\b(intent)\s+(` + ID + String.raw`)`,
       "captures": cap("keyword.declaration.intent.writ", "entity.name.type.intent.writ")},
    ]},
    "targets": {"patterns": [
      {"match": String.raw`\b(?:(permit)|(forbid)|(escalate))\b`,
       "captures": cap("keyword.control.effect.permit.writ", "keyword.control.effect.forbid.writ",
                       "keyword.control.effect.escalate.writ")},
      {"name": "keyword.operator.wildcard.writ",
       "match": String.raw`\*(?=\s*(?:(?:to|on|when|unless|because|grant)\b|;|$))`},
      {"name": "meta.action-list.writ",
       "begin": String.raw`\b(to)\s*(\[)`, "end": String.raw`\]`,
       "beginCaptures": cap("keyword.other.target.to.writ", "punctuation.section.brackets.begin.writ"),
       "endCaptures": {"0": {"name": "punctuation.section.brackets.end.writ"}},
       "patterns": [
         {"include": "#comments"},
         {"name": "entity.name.function.action.writ", "match": ID},
         {"name": "keyword.operator.wildcard.writ", "match": String.raw`\*`},
         {"name": "punctuation.separator.comma.writ", "match": ","},
         {"include": "#invalid"},
       ]},
      {"match": String.raw`\b(to)\b(?:\s+(` + ID + String.raw`))?`,
       "captures": cap("keyword.other.target.to.writ", "entity.name.function.action.writ")},
      {"match": String.raw`\b(` + ID + String.raw`)(?=\s+on\b)`, "captures": cap("entity.name.function.action.writ")},
      {"match": String.raw`\b(on)\b`, "captures": cap("keyword.other.target.on.writ")},
    ]},
    "expressions": {"patterns": [
      {"include": "#comments"},
      {"include": "#entity-reference"},
      {"include": "#string"},
      {"include": "#property-name"},
      {"include": "#member"},
      {"include": "#calls"},
      {"include": "#keywords"},
      {"include": "#types"},
      {"include": "#variables"},
      {"include": "#numbers"},
      {"include": "#operators"},
      {"include": "#punctuation"},
      {"include": "#invalid"},
    ]},
    "property-name": {
      "comment": "A record field or attribute: a name (keywords too) after `{`, `,` or at the start of a line, before `:`.",
      "match": String.raw`(?:(?<=[{,])|^)\s*(` + ANY + String.raw`)\s*(?=:(?!:))`,
      "captures": cap("variable.other.property.writ")},
    "member": {"patterns": [
      {"match": String.raw`\b([A-Z][A-Za-z0-9_]*)\s*(\.)\s*(` + ID + String.raw`)\b(?!\s*\()`,
       "captures": cap("entity.name.type.enum.writ", "punctuation.accessor.writ",
                       "variable.other.enummember.writ")},
      {"match": String.raw`\b(time|net|identity)\s*(\.)\s*(` + ID + String.raw`)(?=\s*\()`,
       "captures": cap("entity.name.namespace.writ", "punctuation.accessor.writ",
                       "entity.name.function.writ")},
      {"match": String.raw`(\.)\s*(` + ANY + String.raw`)(?=\s*\()`,
       "captures": cap("punctuation.accessor.writ", "entity.name.function.method.writ")},
      {"match": String.raw`(\.)\s*(` + ANY + String.raw`)`,
       "captures": cap("punctuation.accessor.writ", "variable.other.property.writ")},
    ]},
    "calls": {"patterns": [
      {"match": String.raw`\b(timestamp|ip|duration)\s*(?=\()`, "captures": cap("support.function.builtin.writ")},
      {"match": String.raw`\b(` + ID + String.raw`)\s*(?=\()`, "captures": cap("entity.name.function.writ")},
    ]},
    "keywords": {"patterns": [
      {"match": String.raw`\b(?:(when)|(unless)|(because)|(grant))\b`,
       "captures": cap("keyword.control.clause.when.writ", "keyword.control.clause.unless.writ",
                       "keyword.control.clause.because.writ", "keyword.control.clause.grant.writ")},
      {"name": "keyword.control.conditional.writ", "match": String.raw`\b(?:if|then|else)\b`},
      {"name": "keyword.control.quantifier.writ", "match": String.raw`\b(?:all|any)\b`},
      {"match": String.raw`\b(?:(and)|(or)|(not))\b`,
       "captures": cap("keyword.operator.expression.and.writ", "keyword.operator.expression.or.writ",
                       "keyword.operator.expression.not.writ")},
      {"comment": "After `has` comes a field name, which may be a keyword.",
       "match": String.raw`\b(has)\s+(` + ANY + String.raw`)\b`,
       "captures": cap("keyword.operator.expression.has.writ", "variable.other.property.writ")},
      {"match": String.raw`\b(?:(in)|(is)|(has)|(like))\b`,
       "captures": cap("keyword.operator.expression.in.writ", "keyword.operator.expression.is.writ",
                       "keyword.operator.expression.has.writ", "keyword.operator.expression.like.writ")},
      {"match": String.raw`\b(?:(schema)|(entity)|(enum)|(fn)|(import))\b`,
       "captures": cap("keyword.declaration.schema.writ", "keyword.declaration.entity.writ",
                       "keyword.declaration.enum.writ", "keyword.declaration.fn.writ",
                       "keyword.control.import.writ")},
      {"match": String.raw`\b(?:(permit)|(forbid)|(escalate))\b`,
       "captures": cap("keyword.control.effect.permit.writ", "keyword.control.effect.forbid.writ",
                       "keyword.control.effect.escalate.writ")},
      {"match": String.raw`\b(?:(to)|(on))\b`,
       "captures": cap("keyword.other.target.to.writ", "keyword.other.target.on.writ")},
      {"name": "constant.language.boolean.writ", "match": String.raw`\b(?:true|false)\b`},
      {"name": "constant.language.none.writ", "match": String.raw`\bnone\b`},
    ]},
    "variables": {"patterns": [
      {"name": "variable.language.writ", "match": String.raw`\b(?:principal|resource|on_behalf_of|action|context|intent)\b`},
      {"name": "variable.other.writ", "match": String.raw`\b[a-z_][A-Za-z0-9_]*\b`},
    ]},
    "types": {"patterns": [
      {"name": "meta.generic.writ",
       "begin": String.raw`\b(Set)\s*(<)`, "end": String.raw`>|(?=[;=)])`,
       "beginCaptures": cap("support.type.builtin.writ", "punctuation.definition.generic.begin.writ"),
       "endCaptures": {"0": {"name": "punctuation.definition.generic.end.writ"}},
       "patterns": [{"include": "#comments"}, {"include": "#property-name"}, {"include": "#type-expression"},
                    {"include": "#punctuation"}, {"include": "#invalid"}]},
      {"name": "support.type.builtin.writ", "match": String.raw`\b(?:` + TYPES + String.raw`)\b`},
      {"name": "entity.name.type.writ", "match": String.raw`\b[A-Z][A-Za-z0-9_]*\b`},
    ]},
    "type-expression": {"patterns": [
      {"include": "#types"},
      {"name": "keyword.operator.optional.writ", "match": String.raw`\?`},
      {"name": "entity.name.type.writ", "match": String.raw`\b` + ID + String.raw`\b`},
    ]},
    "numbers": {"patterns": [
      {"name": "constant.numeric.duration.writ",
       "comment": "Units from the largest to the smallest, each at most once: 1h30m, 500ms, 7d.",
       "match": String.raw`\b(?=[0-9])(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?(?:[0-9]+ms)?(?<=[smhd])\b`},
      {"name": "invalid.illegal.numeric.writ",
       "comment": "A number run into letters: a misordered or unknown duration unit.",
       "match": String.raw`\b[0-9]+[A-Za-z_][A-Za-z0-9_]*\b`},
      {"name": "constant.numeric.integer.decimal.writ", "match": String.raw`\b[0-9]+\b`},
    ]},
    "operators": {"patterns": [
      {"name": "keyword.operator.arrow.writ", "match": String.raw`->`},
      {"name": "keyword.operator.comparison.writ", "match": String.raw`==|!=|<=|>=|<|>`},
      {"name": "keyword.operator.assignment.writ", "match": String.raw`=`},
      {"name": "keyword.operator.arithmetic.writ", "match": String.raw`[-+*]`},
      {"name": "keyword.operator.optional.writ", "match": String.raw`\?`},
    ]},
    "punctuation": {"patterns": [
      {"name": "punctuation.separator.namespace.writ", "match": String.raw`::`},
      {"name": "punctuation.separator.colon.writ", "match": String.raw`:`},
      {"name": "punctuation.terminator.writ", "match": String.raw`;`},
      {"name": "punctuation.separator.comma.writ", "match": String.raw`,`},
      {"name": "punctuation.accessor.writ", "match": String.raw`\.`},
      {"name": "punctuation.separator.union.writ", "match": String.raw`\|`},
      {"name": "punctuation.section.braces.begin.writ", "match": String.raw`\{`},
      {"name": "punctuation.section.braces.end.writ", "match": String.raw`\}`},
      {"name": "punctuation.section.brackets.begin.writ", "match": String.raw`\[`},
      {"name": "punctuation.section.brackets.end.writ", "match": String.raw`\]`},
      {"name": "punctuation.section.parens.begin.writ", "match": String.raw`\(`},
      {"name": "punctuation.section.parens.end.writ", "match": String.raw`\)`},
      {"name": "punctuation.definition.annotation.writ", "match": String.raw`@`},
    ]},
    "invalid": {
      "comment": "What the lexer refuses: a lone `!` or `/`, and any other character outside strings and comments.",
      "name": "invalid.illegal.character.writ",
      "match": String.raw`!(?!=)|/|[^ \t\r\n\f\x{FEFF}A-Za-z0-9_{}()\[\],;:.@*+\-=!<>|?\"]`},
  },
};

const OUT = path.join(__dirname, '..', 'syntaxes', 'writ.tmLanguage.json');

/** The grammar as the JSON file holds it. */
function render() {
  return JSON.stringify(grammar, null, 2) + '\n';
}

module.exports = { grammar, render, OUT };

if (require.main === module) {
  fs.writeFileSync(OUT, render());
  console.log(`wrote ${path.relative(process.cwd(), OUT)}`);
}
