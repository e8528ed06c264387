//! What every area's tests share.

use locklab_model::{Protocol, Step};

/// The protocol of this name.
pub fn p(name: &str) -> Protocol {
    name.parse().expect("a protocol")
}

/// The step written so (`acquire c1`, `ask-lost c1 n2`, `tick`).
pub fn step(text: &str) -> Step {
    text.parse().expect("a step")
}
