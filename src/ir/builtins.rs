//! Built-in methods (docs/language.md): their signatures, for the checker, and their reference
//! semantics on values, for constant folding and the interpreter.

use super::types::Ty;
use super::value::{self, Value};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    StrStartsWith,
    StrEndsWith,
    StrContains,
    StrLen,
    StrLower,
    StrUpper,
    StrStripPrefix,
    StrStripSuffix,
    StrBefore,
    StrAfter,
    StrSegment,
    SetContains,
    SetContainsAny,
    SetContainsAll,
    SetLen,
    SetIsEmpty,
    TsHour,
    TsMinute,
    TsWeekday,
    TsDate,
    IpInRange,
    IpIsLoopback,
    IpIsPrivate,
    IpIsV4,
    DurMillis,
    DurSeconds,
    DurMinutes,
    DurHours,
}

/// What a method is called on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recv {
    Str,
    Set,
    Ts,
    Ip,
    Dur,
}

/// (receiver, name, builtin, doc)
const METHODS: &[(Recv, &str, Builtin, &str)] = &[
    (Recv::Str, "starts_with", Builtin::StrStartsWith, "s.starts_with(prefix: String) -> Bool"),
    (Recv::Str, "ends_with", Builtin::StrEndsWith, "s.ends_with(suffix: String) -> Bool"),
    (Recv::Str, "contains", Builtin::StrContains, "s.contains(part: String) -> Bool"),
    (Recv::Str, "len", Builtin::StrLen, "s.len() -> Int: length in Unicode scalar values"),
    (Recv::Str, "lower", Builtin::StrLower, "s.lower() -> String"),
    (Recv::Str, "upper", Builtin::StrUpper, "s.upper() -> String"),
    (
        Recv::Str,
        "strip_prefix",
        Builtin::StrStripPrefix,
        "s.strip_prefix(p: String) -> String: s without p in front (s itself if it does not start with p)",
    ),
    (Recv::Str, "strip_suffix", Builtin::StrStripSuffix, "s.strip_suffix(p: String) -> String"),
    (
        Recv::Str,
        "before",
        Builtin::StrBefore,
        "s.before(sep: String) -> String: text before the first sep (all of s if none)",
    ),
    (Recv::Str, "after", Builtin::StrAfter, "s.after(sep: String) -> String: text after the first sep (\"\" if none)"),
    (
        Recv::Str,
        "segment",
        Builtin::StrSegment,
        "s.segment(sep: String, n: Int) -> String: the n-th (from 0) piece of s split by sep, \"\" if there is none",
    ),
    (Recv::Set, "contains", Builtin::SetContains, "S.contains(x: T) -> Bool"),
    (Recv::Set, "contains_any", Builtin::SetContainsAny, "S.contains_any(other: Set<T>) -> Bool"),
    (Recv::Set, "contains_all", Builtin::SetContainsAll, "S.contains_all(other: Set<T>) -> Bool"),
    (Recv::Set, "len", Builtin::SetLen, "S.len() -> Int"),
    (Recv::Set, "is_empty", Builtin::SetIsEmpty, "S.is_empty() -> Bool"),
    (Recv::Ts, "hour", Builtin::TsHour, "t.hour() -> Int: 0..23, UTC"),
    (Recv::Ts, "minute", Builtin::TsMinute, "t.minute() -> Int: 0..59"),
    (Recv::Ts, "weekday", Builtin::TsWeekday, "t.weekday() -> Int: 1 = Monday … 7 = Sunday, UTC"),
    (Recv::Ts, "date", Builtin::TsDate, "t.date() -> Timestamp: midnight UTC of t's day"),
    (Recv::Ip, "in_range", Builtin::IpInRange, "a.in_range(r: Ip) -> Bool"),
    (Recv::Ip, "is_loopback", Builtin::IpIsLoopback, "a.is_loopback() -> Bool"),
    (Recv::Ip, "is_private", Builtin::IpIsPrivate, "a.is_private() -> Bool: RFC 1918 and fc00::/7"),
    (Recv::Ip, "is_v4", Builtin::IpIsV4, "a.is_v4() -> Bool"),
    (Recv::Dur, "millis", Builtin::DurMillis, "d.millis() -> Int"),
    (Recv::Dur, "seconds", Builtin::DurSeconds, "d.seconds() -> Int: whole seconds"),
    (Recv::Dur, "minutes", Builtin::DurMinutes, "d.minutes() -> Int: whole minutes"),
    (Recv::Dur, "hours", Builtin::DurHours, "d.hours() -> Int: whole hours"),
];

fn recv_of(ty: &Ty) -> Option<Recv> {
    match ty {
        Ty::String => Some(Recv::Str),
        Ty::Set(_) => Some(Recv::Set),
        Ty::Timestamp => Some(Recv::Ts),
        Ty::Ip => Some(Recv::Ip),
        Ty::Duration => Some(Recv::Dur),
        _ => None,
    }
}

/// The method `name` on a receiver of type `recv`: the builtin, its parameter types (after
/// the receiver) and its result type.
pub fn method(recv: &Ty, name: &str) -> Option<(Builtin, Vec<Ty>, Ty)> {
    let r = recv_of(recv)?;
    let (_, _, b, _) = METHODS.iter().find(|(rr, n, _, _)| *rr == r && *n == name)?;
    let elem = match recv {
        // The empty set literal's elements may be anything.
        Ty::Set(t) if **t != Ty::Never => (**t).clone(),
        _ => Ty::Error,
    };
    use Builtin::*;
    let (params, ret) = match b {
        StrStartsWith | StrEndsWith | StrContains => (vec![Ty::String], Ty::Bool),
        StrLen => (vec![], Ty::Int),
        StrLower | StrUpper => (vec![], Ty::String),
        StrStripPrefix | StrStripSuffix | StrBefore | StrAfter => (vec![Ty::String], Ty::String),
        StrSegment => (vec![Ty::String, Ty::Int], Ty::String),
        SetContains => (vec![elem], Ty::Bool),
        SetContainsAny | SetContainsAll => (vec![Ty::Set(Box::new(elem))], Ty::Bool),
        SetLen => (vec![], Ty::Int),
        SetIsEmpty => (vec![], Ty::Bool),
        TsHour | TsMinute | TsWeekday => (vec![], Ty::Int),
        TsDate => (vec![], Ty::Timestamp),
        IpInRange => (vec![Ty::Ip], Ty::Bool),
        IpIsLoopback | IpIsPrivate | IpIsV4 => (vec![], Ty::Bool),
        DurMillis | DurSeconds | DurMinutes | DurHours => (vec![], Ty::Int),
    };
    Some((*b, params, ret))
}

/// Method names available on a receiver type (for "did you mean").
pub fn method_names(recv: &Ty) -> Vec<&'static str> {
    match recv_of(recv) {
        Some(r) => METHODS.iter().filter(|m| m.0 == r).map(|m| m.1).collect(),
        None => Vec::new(),
    }
}

/// One-line signature and description of every method, for docs and hover.
pub fn method_docs() -> impl Iterator<Item = &'static str> {
    METHODS.iter().map(|m| m.3)
}

impl Builtin {
    pub fn name(self) -> &'static str {
        METHODS.iter().find(|m| m.2 == self).map_or("?", |m| m.1)
    }
}

/// Why a built-in could not produce a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuiltinError {
    /// Arguments of the wrong shape: impossible after type checking.
    BadArguments,
    /// The result does not fit (the method named): an evaluation error, like integer
    /// overflow, so the rule fails closed.
    Overflow(&'static str),
}

/// Evaluates a built-in on argument values (the receiver first). The reference semantics.
pub fn eval(b: Builtin, args: &[Value]) -> Result<Value, BuiltinError> {
    use Builtin::*;
    let bad = || BuiltinError::BadArguments;
    let str_arg = |i: usize| match args.get(i) {
        Some(Value::Str(s)) => Ok(s.clone()),
        _ => Err(bad()),
    };
    let set_arg = |i: usize| match args.get(i) {
        Some(Value::Set(s)) => Ok(s.clone()),
        _ => Err(bad()),
    };
    let int_of = |n: usize| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let s = |x: &str| Value::Str(Arc::from(x));
    Ok(match b {
        StrStartsWith => Value::Bool(str_arg(0)?.starts_with(&*str_arg(1)?)),
        StrEndsWith => Value::Bool(str_arg(0)?.ends_with(&*str_arg(1)?)),
        StrContains => Value::Bool(str_arg(0)?.contains(&*str_arg(1)?)),
        StrLen => int_of(str_arg(0)?.chars().count()),
        StrLower => s(&str_arg(0)?.to_lowercase()),
        StrUpper => s(&str_arg(0)?.to_uppercase()),
        StrStripPrefix => {
            let (a, p) = (str_arg(0)?, str_arg(1)?);
            s(a.strip_prefix(&*p).unwrap_or(&a))
        }
        StrStripSuffix => {
            let (a, p) = (str_arg(0)?, str_arg(1)?);
            s(a.strip_suffix(&*p).unwrap_or(&a))
        }
        StrBefore => {
            let (a, sep) = (str_arg(0)?, str_arg(1)?);
            s(a.split_once(&*sep).map_or(&*a, |(x, _)| x))
        }
        StrAfter => {
            let (a, sep) = (str_arg(0)?, str_arg(1)?);
            s(a.split_once(&*sep).map_or("", |(_, y)| y))
        }
        StrSegment => {
            let (a, sep) = (str_arg(0)?, str_arg(1)?);
            let n = match args.get(2) {
                Some(Value::Int(n)) => *n,
                _ => return Err(bad()),
            };
            let piece = if sep.is_empty() || n < 0 {
                None
            } else {
                usize::try_from(n).ok().and_then(|n| a.split(&*sep).nth(n))
            };
            s(piece.unwrap_or(""))
        }
        SetContains => {
            let set = set_arg(0)?;
            let x = args.get(1).ok_or_else(bad)?;
            Value::Bool(set.binary_search(x).is_ok())
        }
        SetContainsAny => {
            let (a, o) = (set_arg(0)?, set_arg(1)?);
            Value::Bool(o.iter().any(|x| a.binary_search(x).is_ok()))
        }
        SetContainsAll => {
            let (a, o) = (set_arg(0)?, set_arg(1)?);
            Value::Bool(o.iter().all(|x| a.binary_search(x).is_ok()))
        }
        SetLen => int_of(set_arg(0)?.len()),
        SetIsEmpty => Value::Bool(set_arg(0)?.is_empty()),
        TsHour | TsMinute | TsWeekday | TsDate => {
            let t = match args.first() {
                Some(Value::Timestamp(t)) => *t,
                _ => return Err(bad()),
            };
            match b {
                TsHour => Value::Int(value::ts_hour(t)),
                TsMinute => Value::Int(value::ts_minute(t)),
                TsWeekday => Value::Int(value::ts_weekday(t)),
                _ => Value::Timestamp(value::ts_date(t).ok_or(BuiltinError::Overflow("date()"))?),
            }
        }
        IpInRange | IpIsLoopback | IpIsPrivate | IpIsV4 => {
            let a = match args.first() {
                Some(Value::Ip(a)) => *a,
                _ => return Err(bad()),
            };
            Value::Bool(match b {
                IpInRange => match args.get(1) {
                    Some(Value::Ip(r)) => a.in_range(*r),
                    _ => return Err(bad()),
                },
                IpIsLoopback => a.is_loopback(),
                IpIsPrivate => a.is_private(),
                _ => matches!(a, value::IpNet::V4 { .. }),
            })
        }
        DurMillis | DurSeconds | DurMinutes | DurHours => {
            let d = match args.first() {
                Some(Value::Duration(d)) => *d,
                _ => return Err(bad()),
            };
            Value::Int(match b {
                DurMillis => d,
                DurSeconds => d / 1000,
                DurMinutes => d / 60_000,
                _ => d / 3_600_000,
            })
        }
    })
}
