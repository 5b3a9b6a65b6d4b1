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
    pub code: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub explanation: &'static str,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        self.0.code
    }
    pub fn severity(self) -> Severity {
        self.0.severity
    }
    pub fn title(self) -> &'static str {
        self.0.title
    }
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
most once on a rule. `@id` names the rule in decisions; other annotations are kept as
metadata.";

    MISPLACED_DOC = "P0012", Warning, "doc comment attached to nothing",
"A `///` doc comment documents the declaration that follows it: a rule, intent, fn,
entity, enum, action or attribute. This one is followed by nothing it can document,
so it is ignored. Use `//` for an ordinary comment.";
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
            assert!(c.title().chars().next().is_some_and(|ch| ch.is_lowercase()));
        }
        assert_eq!(lookup("p0001"), Some(UNEXPECTED_TOKEN));
        assert_eq!(lookup("X9999"), None);
    }
}
