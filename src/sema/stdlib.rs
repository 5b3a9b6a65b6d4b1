//! The standard library: Writ source embedded in the binary. `import std.NAME` brings in
//! `stdlib/NAME.writ`; its functions are then called as `NAME.f(…)`.

const MODULES: &[(&str, &str)] = &[
    ("time", include_str!("../../stdlib/time.writ")),
    ("net", include_str!("../../stdlib/net.writ")),
    ("identity", include_str!("../../stdlib/identity.writ")),
];

/// The source of `std.NAME`.
pub fn source(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The names of the standard modules.
pub fn names() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|(n, _)| *n)
}
