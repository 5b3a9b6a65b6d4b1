//! Stable diagnostic codes and their long explanations (`writ explain CODE`).
//!
//! Codes never change meaning once released. `P` codes come from reading files, lexing and
//! parsing; `E` codes are errors of the checker; `W` codes are warnings.

use super::Severity;
use std::fmt;

/// A stable diagnostic code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Code(&'static CodeInfo);

/// What a code means.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CodeInfo {
    /// The code as written: `E0203`.
    pub code: &'static str,
    /// The default severity of diagnostics with this code.
    pub severity: Severity,
    /// A one-line summary.
    pub title: &'static str,
    /// The long explanation `writ explain` prints.
    pub explanation: &'static str,
}

impl Code {
    /// The code as written: `E0203`.
    pub fn as_str(self) -> &'static str {
        self.0.code
    }
    /// The default severity of diagnostics with this code.
    pub fn severity(self) -> Severity {
        self.0.severity
    }
    /// A one-line summary.
    pub fn title(self) -> &'static str {
        self.0.title
    }
    /// The long explanation `writ explain` prints.
    pub fn explanation(self) -> &'static str {
        self.0.explanation
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.code)
    }
}

/// Looks a code up by its name, case-insensitively (`writ explain p0001` works).
pub fn lookup(name: &str) -> Option<Code> {
    ALL.iter().copied().find(|c| c.as_str().eq_ignore_ascii_case(name.trim()))
}

macro_rules! codes {
    ($( $(#[$m:meta])* $name:ident = $code:literal, $sev:ident, $title:literal, $text:literal; )*) => {
        $(
            $(#[$m])*
            #[doc = $title]
            pub const $name: Code = Code(&CodeInfo {
                code: $code,
                severity: Severity::$sev,
                title: $title,
                explanation: $text,
            });
        )*
        /// Every code, in order.
        pub const ALL: &[Code] = &[$($name),*];
    };
}

codes! {
    CANNOT_READ = "P0000", Error, "cannot read a policy file",
"A path given to writ could not be read: it does not exist, is not readable, or is a
directory with no `*.writ` files below it.

Check the path. Directories are searched recursively for files ending in `.writ`.";

    UNEXPECTED_TOKEN = "P0001", Error, "unexpected token",
"The parser found a token where the grammar does not allow it. The message lists what
could have come instead.

    permit Agent to call_tool Tool;      // error: expected `on`
    permit Agent to call_tool on Tool;   // ok

Every rule ends with `;`. After a syntax error the parser skips to the end of the
broken rule (its `;`) and goes on, so one broken rule gives one error and the rules
after it are still checked.";

    UNEXPECTED_EOF = "P0002", Error, "unexpected end of file",
"The file ended in the middle of a declaration, for example a rule without its final
`;` or a block without its closing `}`.

    permit Agent to call_tool on Tool     // error: the rule needs a `;`";

    UNKNOWN_CHARACTER = "P0003", Error, "unrecognised character",
"The lexer met a character that starts no token of Writ, such as `$`, `#` or `&`.

Writ writes logical operators as words: `and`, `or`, `not`, not `&&`, `||`, `!`.
Identifiers are `[A-Za-z_][A-Za-z0-9_]*`; other characters may appear only inside
strings and comments.";

    UNTERMINATED_STRING = "P0004", Error, "unterminated string",
"A string literal was opened with `\"` but not closed on the same line.

Strings may not span lines; write `\\n` for a line break inside a string.";

    INVALID_ESCAPE = "P0005", Error, "invalid escape sequence",
"Inside a string, a backslash must start one of the escapes `\\\"`, `\\\\`, `\\n`, `\\t`
or `\\u{…}`, where `…` is 1 to 6 hexadecimal digits naming a Unicode scalar value.

    \"a \\q b\"        // error: `\\q` is not an escape
    \"a \\\\q b\"       // ok: a backslash followed by q";

    INTEGER_OVERFLOW = "P0006", Error, "integer literal out of range",
"Integer literals are 64-bit signed integers: at most 9223372036854775807. A literal
beyond that is a compile error rather than silently wrapping.";

    UNTERMINATED_COMMENT = "P0007", Error, "unterminated block comment",
"A block comment opened with `/*` has no closing `*/`. Block comments do not nest.";

    TOO_DEEP = "P0008", Error, "nesting too deep",
"An expression or type nests deeper than Writ allows (256 levels). The limit keeps every
phase of the compiler from running out of stack on hostile input. Real policies never
come close: split the expression into functions (`fn`) or flatten it.

Chains of `and` and `or` do not count towards the limit: they are flattened.";

    INVALID_UTF8 = "P0009", Error, "file is not valid UTF-8",
"Writ source files must be UTF-8. The message gives the byte offset of the first
invalid byte; re-save the file as UTF-8.";

    INVALID_DURATION = "P0010", Error, "invalid duration literal",
"A duration is one or more `NUMBER UNIT` parts with units `ms`, `s`, `m`, `h`, `d`, from
the largest unit to the smallest, each unit at most once: `500ms`, `30s`, `1h30m`, `7d`.
The total must fit in a 64-bit count of milliseconds.

    90m      // ok
    30m1h    // error: units must go from largest to smallest";

    INVALID_ANNOTATION = "P0011", Error, "invalid annotation",
"Annotations take one string argument, `@id(\"agent-tools\")`, and each may appear at
most once on a rule. `@id` names the rule in decisions; other annotations have no
effect and are warned about (W0006).";

    MISPLACED_DOC = "P0012", Warning, "doc comment attached to nothing",
"A `///` doc comment documents the declaration that follows it: a rule, intent, fn,
entity, enum, action or attribute. This one is followed by nothing it can document,
so it is ignored. Use `//` for an ordinary comment.";

    UNKNOWN_TYPE = "E0001", Error, "unknown type",
"A type name is neither a built-in type (`Bool`, `Int`, `String`, `Duration`,
`Timestamp`, `Ip`, `Set<T>`, `Intent`) nor an entity or enum declared in the schema.

    entity Tool { owner: Humna }     // error: unknown type `Humna`; did you mean `Human`?";

    UNKNOWN_ATTRIBUTE = "E0002", Error, "unknown attribute",
"The entity type or record has no attribute of that name. Attributes are declared in the
schema (`entity Tool { sensitivity: Level }`); context fields in `context { … }` and in
the action's `{ … }`.

    resource.sensitivty <= internal  // error: did you mean `sensitivity`?

`e has attr` is checked too: testing for an attribute that can never exist is almost
always a typo that would make the condition silently false.";

    UNKNOWN_ACTION = "E0003", Error, "unknown action",
"A rule target or intent names an action (or action group) the schema does not declare.

    permit Agent to call_tol on Tool;   // error: did you mean `call_tool`?";

    UNKNOWN_INTENT = "E0004", Error, "unknown intent",
"An intent name that no `intent NAME \"…\" { … }` declares. The value `none` stands for a
request that declared no intent.";

    UNKNOWN_ENUM_VALUE = "E0005", Error, "unknown enum value",
"The enum has no such value. Values are written bare where the expected type is known
(`resource.sensitivity <= internal`) or qualified (`Level.internal`).";

    UNKNOWN_FUNCTION = "E0006", Error, "unknown function or method",
"No `fn`, built-in function (`timestamp`, `ip`, `duration`) or method of that name
exists for this receiver. `writ explain E0006` lists the methods:

    String: starts_with ends_with contains len lower upper strip_prefix strip_suffix
            before after segment
    Set:    contains contains_any contains_all len is_empty
    Timestamp: hour minute weekday date      Ip: in_range is_loopback is_private is_v4
    Duration:  millis seconds minutes hours

Module functions are called through the module's name: `import std.time` then
`time.business_hours(context.now)`.";

    UNKNOWN_MODULE = "E0007", Error, "unknown module",
"`import std.NAME` names a standard library module that does not exist (there are
`std.time`, `std.net` and `std.identity`), or `import \"./file.writ\" as m` names a file
that cannot be read.";

    UNKNOWN_NAME = "E0008", Error, "unknown name",
"A bare name that is not in scope. The values in scope are `principal`, `action`,
`resource`, `context`, `intent`, `on_behalf_of`, variables bound by `all`/`any`,
function parameters, enum values, intent and action names.";

    TYPE_MISMATCH = "E0101", Error, "type mismatch",
"An expression has a different type than its place requires: a condition that is not
`Bool`, an operand of `+` that is not a number, duration or timestamp, a function
argument of the wrong type, `if` branches of different types, a `grant` value of the
wrong type (`ttl` must be a `Duration`).";

    INCOMPARABLE = "E0102", Error, "incomparable types",
"`==` and `!=` need operands of the same type (entities of different types may be
compared: they are never equal). `<`, `<=`, `>`, `>=` need two Ints, two Durations, two
Timestamps or two values of the same enum.

    resource.sensitivity == \"internal\"   // error: Level vs String
    resource.sensitivity == internal       // ok";

    UNGUARDED_OPTIONAL = "E0103", Error, "optional attribute read without a `has` guard",
"An attribute declared with `?` may be absent. Read it only where a `has` test that
dominates the read has succeeded:

    principal.max_delegation > 2                                   // error
    principal has max_delegation and principal.max_delegation > 2  // ok

Guards flow through `and`, `or` (`not (e has a) or e.a > 1`), `if … then … else`,
and from one `when`/`unless` clause to the clauses after it.";

    IMPOSSIBLE_IN = "E0104", Error, "`in` can never hold",
"The left side's entity type can never be a member of the right side's type: no chain
of `entity X in Y` declarations leads from one to the other, so the test is always
false. Usually the wrong entity or the wrong direction.";

    WRONG_ARITY = "E0105", Error, "wrong number of arguments",
"A function, method or type constructor got more or fewer arguments than it takes.";

    INVALID_CONSTANT = "E0106", Error, "invalid constant",
"A typed literal does not parse: `timestamp(\"…\")` needs RFC 3339 text
(`2026-01-01T00:00:00Z`), `ip(\"…\")` an IPv4/IPv6 address or CIDR range, `duration(\"…\")`
a duration like `1h30m`, and a `like` pattern may only escape `*` and `\\`. These are
checked when the policy is compiled, never at decision time.";

    CONSTANT_OVERFLOW = "E0107", Error, "integer overflow in a constant",
"Arithmetic on constants overflows 64 bits. At decision time an overflow makes the
rule fail closed; in constants it is caught at compile time.";

    NOT_CONSTANT = "E0108", Error, "expected a constant",
"`timestamp(…)`, `ip(…)` and `duration(…)` take a string literal, so the value is
checked when the policy is compiled.";

    TTL_NOT_POSITIVE = "E0110", Error, "`ttl` is not positive",
"A permit's `grant { ttl: … }` says how long what it allows lasts, and the decision's
`ttl` obligation is the smallest granted. A `ttl` of zero or less would allow something
that has already expired, so a constant one is an error:

    permit Agent to read_secret on Secret grant { ttl: 0s };    // error
    permit Agent to read_secret on Secret grant { ttl: 15m };   // ok

A `ttl` computed at decision time (`grant { ttl: context.lease - 1m }`) that comes out
zero or negative makes that permit fail closed: it does not apply, and the decision lists
the error.";

    DUPLICATE = "E0201", Error, "duplicate declaration",
"Two declarations share a name: entity or enum types, attributes of one entity, enum
values, actions and action groups, intents, functions of one module, context fields
(the common ones and an action's own), record fields, function parameters. The schema
may be split over several `schema { }` blocks and files; names must still be unique.";

    DUPLICATE_RULE_ID = "E0202", Error, "duplicate rule id",
"Two rules carry the same `@id(\"…\")`. Ids name rules in decisions and audit logs, so they
must be unique across the policy set.";

    RECURSION = "E0203", Error, "recursive function",
"Functions may not call themselves, directly or through other functions: they are
inlined at compile time, and decisions must terminate in bounded time.";

    IMPORT_CYCLE = "E0204", Error, "import cycle",
"Module files import each other in a cycle. Move the shared functions into a third
module that both import.";

    NO_SCHEMA = "E0205", Error, "no schema",
"A policy set needs exactly one schema (it may be split over several `schema { }`
blocks). Rules are checked against it.";

    TOO_LARGE = "E0209", Error, "expression too large",
"After inlining functions, a rule's condition grew past Writ's size or depth limit.
This happens with functions that call each other in long chains, doubling the
expression at each step. Simplify the functions.";

    MISPLACED_VALUE = "E0210", Error, "not available here",
"`principal`, `resource`, `context`, `action`, `intent` and `on_behalf_of` describe a
request. They exist in rules; a `fn` body sees only its parameters, so pass what it
needs as arguments. A type name is not a value either.";

    AMBIGUOUS = "E0211", Error, "ambiguous name",
"A bare name is an enum value of several enums (or also an intent or action), and the
place it appears does not say which. Qualify it: `Level.internal`.";

    NOT_IN_MODULE = "E0212", Error, "not allowed in a module",
"A file imported as a module (`import \"./helpers.writ\" as helpers`) may declare only
functions and imports. Rules, intents and schema blocks belong in policy files: the files
of the policy set that no other file imports.";

    UNKNOWN_SETTING = "E0213", Error, "unknown schema setting",
"A `schema { }` block may hold settings, `@NAME(INTEGER)`. The only setting is
`max_delegation`: the longest `on_behalf_of` chain a request may carry (default 4, at
most 64); a longer chain is denied (`delegation-too-long`).

    schema {
      @max_delegation(2)
      …
    }";

    RESERVED_RULE_ID = "E0214", Error, "reserved rule id",
"A rule's `@id` takes a name that decisions already use for one of their own steps, so a
reason or an error naming it would be ambiguous in a decision or an audit log. The
reserved ids are `bad-request` (the request could not be decoded), `no-permit` (the
default deny), `delegation-too-long` (the `on_behalf_of` chain is too long), and
`outside-intent` and every id that starts with `outside-intent:` (the action lies outside
the request's intent). They are compared ignoring ASCII case. An id that ends in
`.writ:LINE` is reserved too: that is how a rule without an `@id` is named.

    @id(\"no-permit\")        // error: reserved
    @id(\"no-permit-agents\") // ok";

    INVALID_RULE_ID = "E0215", Error, "invalid rule id",
"A rule's `@id` must be a name a person can read back unambiguously from a decision or a
log line: it may not be empty, and it may not contain whitespace, control characters
(line breaks, tabs, escape codes) or invisible formatting characters (zero-width spaces,
bidirectional overrides, byte-order marks).

    @id(\"agent tools\")   // error: a space
    @id(\"agent-tools\")   // ok";

    RESERVED_NAME = "E0216", Error, "reserved name",
"`principal`, `resource`, `action`, `context`, `intent` and `on_behalf_of` name the parts of
the request. A quantifier variable, a function parameter or an import alias may not take
one of these names: inside its scope it would silently hide the request's value.

    any principal in on_behalf_of: principal.env == \"prod\"   // error
    any p in on_behalf_of: p.env == \"prod\"                   // ok";

    IMPORT_OUTSIDE_ROOT = "E0217", Error, "import outside the policy root",
"`import \"…\" as m` may only read files inside the policy root, so a host that checks a
policy set it does not trust never reads (or shows in diagnostics) files elsewhere on its
machine. The root is the directory given to `writ` when loading a directory, and the
directory of each file given when loading files one by one. Import paths are relative to
the importing file; absolute paths are not allowed, nor `..` steps that leave the root,
nor symbolic links that lead out of it (paths are resolved before the test).

    import \"./helpers.writ\" as helpers      // ok
    import \"../../shared/x.writ\" as x       // error if it leaves the root
    import \"/etc/passwd\" as p               // error: an absolute path";

    TOO_MANY_TERMS = "E0218", Error, "condition too long",
"A chain of `and` or `or` has more terms than Writ accepts in one chain (10,000). Such
conditions come from generators gone wrong rather than from people, and a decision would
have to evaluate them on every request. Split the condition into several `when` clauses
or functions, or use a set: `context.risk in [1, 2, 3]` instead of a chain of `==`.";

    NEVER_MATCHES = "W0001", Warning, "target matches no declared action",
"No action declared in the schema takes this rule's principal type and resource type,
so the rule can never apply. Check the action's `P -> R` declaration and the rule's
target.";

    CONSTANT_CONDITION = "W0002", Warning, "constant condition",
"The condition is the same for every request, so the clause is pointless (or the rule
can never apply). Often a comparison between two literals, or `has` on an attribute
that is not optional.";

    OVERRIDDEN_PERMIT = "W0003", Warning, "permit always overridden",
"An unconditional `forbid` covers every request this `permit` could allow, and forbids
always win, so the permit can never make a difference.";

    UNUSED_FN = "W0004", Warning, "unused function",
"The function is declared but no rule uses it (directly or through other functions).";

    UNUSED_IMPORT = "W0005", Warning, "unused import",
"The module is imported but none of its functions is used.";

    UNKNOWN_ANNOTATION = "W0006", Warning, "unknown annotation",
"Writ knows one rule annotation, `@id(\"…\")`, which names the rule in decisions. Any other
annotation is ignored, which is usually a typo: a rule written with `@Id(\"x\")` or
`@ids(\"x\")` has no id and is named `FILE:LINE` in decisions. For notes about a rule,
use a `///` doc comment.";

    GRANT_WITHOUT_EFFECT = "W0007", Warning, "grant on a rule that grants nothing",
"Obligations come only from the permits that allow a request. A `grant` on a `forbid` or
`escalate` rule is never read: move it to the permit that allows the action (an escalation
that a human approves is then allowed by a permit, whose grant applies).";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for c in ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {c}");
            assert!(!c.explanation().is_empty());
            assert!(c.title().chars().find(|ch| ch.is_alphabetic()).is_some_and(|ch| ch.is_lowercase()));
        }
        assert_eq!(lookup("p0001"), Some(UNEXPECTED_TOKEN));
        assert_eq!(lookup("X9999"), None);
    }
}
