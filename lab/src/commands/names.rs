//! The user's names for protocols, properties and faults, parsed with a
//! "did you mean" for a typo: the declarations' own errors list every
//! known name, and the nearest one is what a user wants first.

use locklab_model::fault::FaultError;
use locklab_model::{Fault, Faults, PropertyName, Protocol};

use crate::output::suggest::with_hint;

/// A protocol by name.
pub fn protocol(name: &str) -> anyhow::Result<Protocol> {
    name.parse::<Protocol>().map_err(|e| {
        anyhow::anyhow!(with_hint(
            e.to_string(),
            name,
            Protocol::all().iter().map(|p| p.name())
        ))
    })
}

/// A property by name.
pub fn property(name: &str) -> anyhow::Result<PropertyName> {
    name.parse::<PropertyName>().map_err(|e| {
        anyhow::anyhow!(with_hint(
            e.to_string(),
            name,
            PropertyName::ALL.map(PropertyName::name)
        ))
    })
}

/// A fault budget (`pause`, `pause,crash=2`, `none`).
pub fn faults(text: &str) -> anyhow::Result<Faults> {
    text.parse::<Faults>().map_err(|e| {
        let message = e.to_string();
        anyhow::anyhow!(match &e {
            FaultError::Unknown(word) => with_hint(message, word, Fault::ALL.map(Fault::name)),
            _ => message,
        })
    })
}
