//! The pristine stubs' `common`: the examples' own, `examples/common/mod.rs`.
//! Each stub says `#[path = "../common/mod.rs"] mod common;`, which from
//! `tests/stubs/workshop/` lands here; this file hands it the examples'
//! module, so that the copies in `tests/stubs/workshop/` can stay byte for
//! byte the stubs that `examples/workshop/` ships.

#[path = "../../../examples/common/mod.rs"]
mod examples;

pub use examples::*;
