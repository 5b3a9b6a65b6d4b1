//! Not part of the stable API (see the crate root). The modules live in their own folders
//! beside this file; they are declared here so that the crate's public surface is the
//! facade, and these are reachable only as `writ::unstable::…`.

#[path = "fmt/mod.rs"]
pub mod fmt;
#[path = "host/mod.rs"]
pub mod host;
#[path = "ir/mod.rs"]
pub mod ir;
#[path = "literal.rs"]
pub mod literal;
#[path = "load.rs"]
pub mod load;
#[path = "sema/mod.rs"]
pub mod sema;
#[path = "syntax/mod.rs"]
pub mod syntax;
