//! The parsers (and printers) of typed literals: durations, timestamps, IP addresses and
//! ranges, globs. A leaf: it knows no other module, so the lexer (duration literals), the
//! checker (constant folding), the back ends and the host-data decoder share one reading of
//! each literal.

use std::fmt;
use std::net::IpAddr;

/// An IP address or CIDR range, v4 or v6. A plain address is a /32 (/128) range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpNet {
    V4 { addr: u32, prefix: u8 },
    V6 { addr: u128, prefix: u8 },
}

/// `a.b.c.d` exactly as the standard library reads it (1–3 digits an octet, no leading
/// zero, at most 255), without its general parser: requests carry addresses on every
/// decision. `None` for anything else, which the general parser then reads or rejects.
fn parse_dotted_quad(b: &[u8]) -> Option<u32> {
    let mut addr = 0u32;
    let mut rest = b;
    for i in 0..4 {
        if i > 0 {
            rest = rest.strip_prefix(b".")?;
        }
        let digits = rest.iter().take(4).take_while(|c| c.is_ascii_digit()).count();
        let (octet, tail) = rest.split_at_checked(digits)?;
        if digits == 0 || digits > 3 || (digits > 1 && octet.first() == Some(&b'0')) {
            return None;
        }
        let n = octet.iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0'));
        if n > 255 {
            return None;
        }
        addr = addr << 8 | n;
        rest = tail;
    }
    rest.is_empty().then_some(addr)
}

/// A prefix length: 1–3 decimal digits, no sign, no leading zero (`0` itself is fine).
fn parse_prefix(p: &str) -> Option<u8> {
    let b = p.as_bytes();
    if b.is_empty() || b.len() > 3 || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b.first() == Some(&b'0')) {
        return None;
    }
    p.parse().ok()
}

impl IpNet {
    /// Parses `10.1.2.3`, `10.0.0.0/8`, `::1`, `fd00::/8`. Host bits of a range are masked.
    /// Strict: no surrounding whitespace, and a prefix length is plain decimal digits
    /// (`/8`, not `/+8` or `/08`). An IPv4-mapped IPv6 address (`::ffff:203.0.113.5`,
    /// `::ffff:cb00:7105`) is the IPv4 address itself, and a range inside `::ffff:0:0/96`
    /// the IPv4 range, so equality, `in_range`, `is_private` and `is_loopback` see one
    /// address however it is written.
    pub fn parse(text: &str) -> Result<IpNet, String> {
        if let Some(a) = parse_dotted_quad(text.as_bytes()) {
            return Ok(IpNet::V4 { addr: a, prefix: 32 });
        }
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("`{text}` is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match parse_prefix(p) {
                Some(p) if p <= max => p,
                _ => return Err(format!("`{text}`: prefix length must be 0..={max}")),
            },
        };
        Ok(match addr {
            IpAddr::V4(a) => {
                let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
                IpNet::V4 { addr: u32::from(a) & mask, prefix }
            }
            IpAddr::V6(a) => {
                let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
                IpNet::V6 { addr: u128::from(a) & mask, prefix }.unmapped()
            }
        })
    }

    /// Parses one address (`10.1.2.3`, `::1`, `::ffff:10.1.2.3`), never a range: what host
    /// data holds (a request says where it comes from, one address). Otherwise as [`IpNet::parse`].
    pub fn parse_addr(text: &str) -> Result<IpNet, String> {
        if text.contains('/') {
            return Err(format!("`{text}` is a range; expected one IP address (no `/prefix`)"));
        }
        IpNet::parse(text).map_err(|_| format!("`{text}` is not an IP address"))
    }

    /// An IPv4-mapped IPv6 address or range (`::ffff:a.b.c.d`, prefix at least 96) as the
    /// IPv4 one; anything else unchanged.
    fn unmapped(self) -> IpNet {
        match self {
            IpNet::V6 { addr, prefix } if prefix >= 96 && addr >> 32 == 0xffff => {
                IpNet::V4 { addr: (addr & 0xffff_ffff) as u32, prefix: prefix - 96 }
            }
            other => other,
        }
    }

    /// True when every address of `self` lies in `range`.
    pub fn in_range(self, range: IpNet) -> bool {
        match (self, range) {
            (IpNet::V4 { addr, prefix }, IpNet::V4 { addr: r, prefix: rp }) => {
                let mask = if rp == 0 { 0 } else { u32::MAX << (32 - u32::from(rp)) };
                prefix >= rp && addr & mask == r
            }
            (IpNet::V6 { addr, prefix }, IpNet::V6 { addr: r, prefix: rp }) => {
                let mask = if rp == 0 { 0 } else { u128::MAX << (128 - u32::from(rp)) };
                prefix >= rp && addr & mask == r
            }
            _ => false,
        }
    }

    pub fn is_loopback(self) -> bool {
        self.in_range(IpNet::V4 { addr: 0x7f00_0000, prefix: 8 }) || self == IpNet::V6 { addr: 1, prefix: 128 }
    }

    /// RFC 1918 v4 ranges and v6 unique-local `fc00::/7`.
    pub fn is_private(self) -> bool {
        [
            IpNet::V4 { addr: 0x0a00_0000, prefix: 8 },
            IpNet::V4 { addr: 0xac10_0000, prefix: 12 },
            IpNet::V4 { addr: 0xc0a8_0000, prefix: 16 },
            IpNet::V6 { addr: 0xfc00 << 112, prefix: 7 },
        ]
        .iter()
        .any(|r| self.in_range(*r))
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            IpNet::V4 { addr, prefix } => {
                write!(f, "{}", std::net::Ipv4Addr::from(addr))?;
                if prefix != 32 {
                    write!(f, "/{prefix}")?;
                }
                Ok(())
            }
            IpNet::V6 { addr, prefix } => {
                write!(f, "{}", std::net::Ipv6Addr::from(addr))?;
                if prefix != 128 {
                    write!(f, "/{prefix}")?;
                }
                Ok(())
            }
        }
    }
}

// ------------------------------------------------------------------------------- time

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days in month `mo` (1–12) of year `y`; 0 for any other month.
fn month_len(y: i64, mo: i64) -> i64 {
    match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Parses an RFC 3339 timestamp (`2026-11-23T10:15:00Z`, fractional seconds and numeric
/// offsets allowed) into milliseconds since the epoch, UTC.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    timestamp_ms(text.as_bytes())
        .ok_or_else(|| format!("`{text}` is not an RFC 3339 timestamp (like 2026-11-23T10:15:00Z)"))
}

fn timestamp_ms(b: &[u8]) -> Option<i64> {
    // The usual form, `2026-11-23T10:15:00Z`, without the general parser's bookkeeping.
    if let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', i0, i1, b':', s0, s1, b'Z'] = *b {
        let digit = |c: u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
        let two = |a: u8, b: u8| Some(digit(a)? * 10 + digit(b)?);
        let y = two(y0, y1)? * 100 + two(y2, y3)?;
        let (mo, d, h, mi, s) = (two(m0, m1)?, two(d0, d1)?, two(h0, h1)?, two(i0, i1)?, two(s0, s1)?);
        if !(1..=12).contains(&mo) || d < 1 || d > month_len(y, mo) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s.min(59);
        return Some(secs * 1000);
    }
    // At most four digits: no overflow.
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = b.get(range)?;
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(s.iter().fold(0, |n, c| n * 10 + i64::from(c - b'0')))
    };
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    if b.len() < 20
        || at(4) != b'-'
        || at(7) != b'-'
        || !matches!(at(10), b'T' | b't' | b' ')
        || at(13) != b':'
        || at(16) != b':'
    {
        return None;
    }
    let (y, mo, d, h, mi, s) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > month_len(y, mo) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if at(i) == b'.' {
        let start = i + 1;
        i = start;
        while at(i).is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        // Milliseconds: the first three digits, padded with zeros.
        ms = (0..3).fold(0, |n, k| n * 10 + if start + k < i { i64::from(at(start + k) - b'0') } else { 0 });
    }
    let offset_min = match at(i) {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && at(i + 3) == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if sign == b'-' { -m } else { m }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + s.min(59) - offset_min * 60;
    Some(secs * 1000 + ms)
}

/// Formats milliseconds since the epoch as RFC 3339 UTC (`2026-11-23T10:15:00Z`, with
/// milliseconds only when non-zero).
pub fn format_timestamp(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    if milli == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
    }
}

/// Hour of day, 0..=23, UTC.
pub fn ts_hour(ms: i64) -> i64 {
    ms.rem_euclid(MS_PER_DAY) / 3_600_000
}

/// Minute of the hour, 0..=59, UTC.
pub fn ts_minute(ms: i64) -> i64 {
    ms.rem_euclid(3_600_000) / 60_000
}

/// ISO weekday: 1 = Monday … 7 = Sunday, UTC.
pub fn ts_weekday(ms: i64) -> i64 {
    // 1970-01-01 was a Thursday (4).
    (ms.div_euclid(MS_PER_DAY) + 3).rem_euclid(7) + 1
}

/// Midnight UTC of the timestamp's day; `None` when that midnight is before the earliest
/// representable timestamp (the first partial day of the `i64` range).
pub fn ts_date(ms: i64) -> Option<i64> {
    ms.div_euclid(MS_PER_DAY).checked_mul(MS_PER_DAY)
}

/// Formats a duration in canonical literal form (`1h30m`, `500ms`, `0s`).
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::with_capacity(8);
    if ms < 0 {
        out.push('-');
    }
    let rest = ms.unsigned_abs();
    // Constant divisors (multiplications once compiled): obligations are formatted on
    // every allowed decision.
    let parts = [
        (rest / 86_400_000, "d"),
        (rest / 3_600_000 % 24, "h"),
        (rest / 60_000 % 60, "m"),
        (rest / 1000 % 60, "s"),
        (rest % 1000, "ms"),
    ];
    for (n, unit) in parts {
        if n > 0 {
            push_decimal(&mut out, n);
            out.push_str(unit);
        }
    }
    out
}

/// Appends `n` in decimal (what `format!` does, without its machinery: obligations are
/// formatted on every allowed decision).
fn push_decimal(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.push_str(digits.get(i..).and_then(|d| std::str::from_utf8(d).ok()).unwrap_or_default());
}

// ------------------------------------------------------------------------------- glob

/// A compiled glob: literal pieces separated by `*`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Glob {
    /// The pieces between stars. `pieces.len() == stars + 1`.
    pub pieces: Vec<String>,
}

impl Glob {
    /// `*` matches any run of characters; `\*` is a literal star; `\\` a backslash. Any
    /// other escape is an error (so typos in patterns are caught at compile time).
    pub fn parse(pattern: &str) -> Result<Glob, String> {
        let mut pieces = vec![String::new()];
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            match c {
                '*' => pieces.push(String::new()),
                '\\' => match chars.next() {
                    Some(e @ ('*' | '\\')) => push_char(&mut pieces, e),
                    Some(e) => return Err(format!("`\\{e}` is not a glob escape: use `\\*` for a literal `*`")),
                    None => return Err("a glob may not end with a lone `\\`".into()),
                },
                c => push_char(&mut pieces, c),
            }
        }
        Ok(Glob { pieces })
    }

    /// Like [`Glob::parse`] but never fails: a bad escape is taken literally. Used for
    /// patterns only known at run time.
    pub fn parse_lenient(pattern: &str) -> Glob {
        Glob::parse(pattern).unwrap_or_else(|_| {
            let mut pieces = vec![String::new()];
            for c in pattern.chars() {
                if c == '*' {
                    pieces.push(String::new());
                } else {
                    push_char(&mut pieces, c);
                }
            }
            Glob { pieces }
        })
    }

    pub fn matches(&self, text: &str) -> bool {
        glob_match(&self.pieces, text)
    }
}

fn push_char(pieces: &mut [String], c: char) {
    if let Some(last) = pieces.last_mut() {
        last.push(c);
    }
}

/// Matches text against pieces separated by stars: the first piece is a prefix, the last a
/// suffix, the middle ones found left to right (greedy-free, linear time).
pub fn glob_match<S: AsRef<str>>(pieces: &[S], text: &str) -> bool {
    match pieces {
        [] => text.is_empty(),
        [only] => text == only.as_ref(),
        [first, middle @ .., last] => {
            let (first, last) = (first.as_ref(), last.as_ref());
            if text.len() < first.len() + last.len() || !text.starts_with(first) || !text.ends_with(last) {
                return false;
            }
            let mut rest = text.get(first.len()..text.len() - last.len()).unwrap_or("");
            for m in middle {
                match rest.find(m.as_ref()) {
                    Some(i) => rest = rest.get(i + m.as_ref().len()..).unwrap_or(""),
                    None => return false,
                }
            }
            true
        }
    }
}

/// Parses a duration literal (`500ms`, `1h30m`) into milliseconds. The lexer reads duration
/// literals with it and the decoder of host data duration strings.
pub fn parse_duration(text: &str) -> Result<i64, &'static str> {
    const UNITS: [(&str, i64); 5] = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];
    let mut rest = text;
    let mut total: i64 = 0;
    let mut last_rank: Option<usize> = None;
    if rest.is_empty() {
        return Err("a duration needs at least one `NUMBER UNIT` part");
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err("expected a number before each unit");
        }
        let (num, tail) = rest.split_at(digits);
        let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, tail) = tail.split_at(unit_len);
        let Some(rank) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err("unknown unit: use `ms`, `s`, `m`, `h` or `d`");
        };
        if last_rank.is_some_and(|r| r >= rank) {
            return Err("units must go from the largest to the smallest, each at most once");
        }
        last_rank = Some(rank);
        let n: i64 = num.parse().map_err(|_| "the duration is too large")?;
        let scale = UNITS.get(rank).map(|u| u.1).unwrap_or(1);
        total = n.checked_mul(scale).and_then(|ms| total.checked_add(ms)).ok_or("the duration is too large")?;
        rest = tail;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_timestamp_form_reads_as_the_general_form() {
        // `…Z` takes the short path; `…+00:00` the general one: the same instant or error.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let f = |shift: u32, m: u64| (x >> shift) % m;
            let text = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                f(0, 10_000),
                f(14, 14),
                f(18, 33),
                f(24, 26),
                f(30, 62),
                f(36, 62)
            );
            let (short, general) = (parse_timestamp(&format!("{text}Z")), parse_timestamp(&format!("{text}+00:00")));
            assert_eq!(short.is_ok(), general.is_ok(), "{text}");
            assert_eq!(short.ok(), general.ok(), "{text}");
        }
        assert!(parse_timestamp("2024-02-29T00:00:00Z").is_ok());
        assert!(parse_timestamp("2100-02-29T00:00:00Z").is_err());
        assert!(parse_timestamp("2026-1a-23T10:15:00Z").is_err());
        assert!(parse_timestamp("2026-11-23T10:15:60Z").is_ok());
    }

    #[test]
    fn dotted_quads_read_as_the_standard_library_reads_them() {
        let mut cases: Vec<String> = [
            "10.1.2.3",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3.04",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
            " 1.2.3.4",
            "1.2.3.4/8",
            "1.2.3.-4",
            "+1.2.3.4",
            "1.2.3.4a",
            "1234.1.1.1",
            "",
            ".",
            "::1",
            "1.2.3.٣",
            "00.1.1.1",
            "0.0.0.00",
            "9.99.199.249",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every string over a small alphabet up to length 9 that has three dots.
        let alphabet = ['0', '1', '2', '5', '9', '.'];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = 7 + (x % 6) as usize;
            let s: String = (0..len).map(|i| alphabet[((x >> (4 * i)) % 6) as usize]).collect();
            cases.push(s);
        }
        for c in &cases {
            let std = c.parse::<std::net::Ipv4Addr>().ok().map(u32::from);
            let fast = parse_dotted_quad(c.as_bytes());
            if fast.is_some() {
                assert_eq!(fast, std, "{c:?}");
            }
            assert_eq!(fast.is_some(), std.is_some() && !c.contains(char::is_whitespace), "{c:?}");
        }
    }

    #[test]
    fn timestamps_round_trip() {
        let t = parse_timestamp("2026-11-23T10:15:00Z").unwrap();
        assert_eq!(format_timestamp(t), "2026-11-23T10:15:00Z");
        assert_eq!(ts_hour(t), 10);
        assert_eq!(ts_weekday(t), 1); // a Monday
        assert_eq!(ts_date(t).map(format_timestamp).as_deref(), Some("2026-11-23T00:00:00Z"));
        assert_eq!(ts_date(i64::MIN + 1), None);
        assert_eq!(parse_timestamp("2026-11-23T12:15:00+02:00").unwrap(), t);
        assert_eq!(parse_timestamp("1970-01-01T00:00:00.5Z").unwrap(), 500);
        assert_eq!(parse_timestamp("1969-12-31T23:59:59Z").unwrap(), -1000);
        assert_eq!(ts_weekday(-1000), 3);
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-11-23",
            "2026-11-23T25:00:00Z",
            "x",
            "2026-11-23T10:15:00",
            "2025-02-29T00:00:00Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
        assert!(parse_timestamp("2024-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn ip_ranges() {
        let r = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(IpNet::parse("10.1.2.3").unwrap().in_range(r));
        assert!(!IpNet::parse("11.1.2.3").unwrap().in_range(r));
        assert!(IpNet::parse("10.1.0.0/16").unwrap().in_range(r));
        assert!(!r.in_range(IpNet::parse("10.1.0.0/16").unwrap()));
        assert!(IpNet::parse("127.0.0.1").unwrap().is_loopback());
        assert!(IpNet::parse("::1").unwrap().is_loopback());
        assert!(IpNet::parse("192.168.1.1").unwrap().is_private());
        assert!(IpNet::parse("fd00::1").unwrap().is_private());
        assert!(!IpNet::parse("8.8.8.8").unwrap().is_private());
        assert!(IpNet::parse("300.1.1.1").is_err());
        assert!(IpNet::parse("10.0.0.0/33").is_err());
        assert_eq!(IpNet::parse("10.9.9.9/8").unwrap().to_string(), "10.0.0.0/8");
    }

    #[test]
    fn mapped_ipv4_is_ipv4_and_parsing_is_strict() {
        let v4 = IpNet::parse("203.0.113.5").unwrap();
        for mapped in ["::ffff:203.0.113.5", "::ffff:cb00:7105", "::FFFF:CB00:7105", "0:0:0:0:0:ffff:cb00:7105"] {
            assert_eq!(IpNet::parse(mapped), Ok(v4), "{mapped}");
            assert_eq!(IpNet::parse_addr(mapped), Ok(v4), "{mapped}");
        }
        assert_eq!(IpNet::parse("::ffff:10.0.0.0/104"), IpNet::parse("10.0.0.0/8"));
        assert!(IpNet::parse("::ffff:127.0.0.1").unwrap().is_loopback());
        assert!(IpNet::parse("::ffff:192.168.1.1").unwrap().is_private());
        // not mapped: IPv4-compatible, NAT64, a range wider than the mapped block
        assert!(matches!(IpNet::parse("::203.0.113.5"), Ok(IpNet::V6 { .. })));
        assert!(matches!(IpNet::parse("64:ff9b::cb00:7105"), Ok(IpNet::V6 { .. })));
        assert!(matches!(IpNet::parse("::ffff:0:0/95"), Ok(IpNet::V6 { .. })));
        // the families stay apart: no IPv4 address (mapped ones included) is in an IPv6 range
        assert!(!v4.in_range(IpNet::parse("::/0").unwrap()));
        assert!(!IpNet::parse("::ffff:203.0.113.5").unwrap().in_range(IpNet::parse("::/0").unwrap()));
        for bad in
            [" 10.1.2.3", "10.1.2.3 ", "10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/", "10.0.0.0/ 8", "::1%eth0", "::1 "]
        {
            assert!(IpNet::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(IpNet::parse("10.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
        assert!(IpNet::parse_addr("10.0.0.0/32").is_err());
        assert!(IpNet::parse_addr("203.0.113.5/0").is_err());
    }

    #[test]
    fn globs() {
        let g = Glob::parse("spiffe://prod.acme/*").unwrap();
        assert!(g.matches("spiffe://prod.acme/ns/x"));
        assert!(!g.matches("spiffe://dev.acme/ns/x"));
        assert!(Glob::parse("a*b*c").unwrap().matches("aXXbYYc"));
        assert!(!Glob::parse("a*b*c").unwrap().matches("acb"));
        assert!(Glob::parse(r"a\*").unwrap().matches("a*"));
        assert!(!Glob::parse(r"a\*").unwrap().matches("ab"));
        assert!(Glob::parse(r"a\q").is_err());
        assert!(Glob::parse("*").unwrap().matches(""));
        assert!(!Glob::parse("ab*ba").unwrap().matches("aba"));
    }

    #[test]
    fn durations_format() {
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(500), "500ms");
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(90_061_001), "1d1h1m1s1ms");
        assert_eq!(format_duration(-86_400_000 * 3 - 60_000), "-3d1m");
        assert_eq!(format_duration(i64::MIN), "-106751991167d7h12m55s808ms");
        assert_eq!(format_duration(15 * 60_000), "15m");
    }
}
