//! The choice of a scenario's model by its protocol's family: the one
//! place that names every family.

use crate::lease::LeaseModel;
use crate::quorum::QuorumModel;
use crate::scenario::Scenario;
use crate::sync::SyncModel;
use crate::system::System;
use locklab_spec::family::Family;
use locklab_spec::property::PropertyName;

/// Something to do with a scenario's model, whatever its family.
pub trait Visit {
    /// What it gives back.
    type Out;
    /// Does it.
    fn visit<S: System>(self, model: S) -> Self::Out;
}

/// Builds the scenario's model (checking `checking`) and hands it to `v`.
pub fn visit<V: Visit>(scenario: Scenario, checking: &[PropertyName], v: V) -> V::Out {
    match scenario.protocol.family() {
        Family::Lease => v.visit(LeaseModel::of(scenario, checking)),
        Family::Sync => v.visit(SyncModel::of(scenario, checking)),
        Family::Quorum => v.visit(QuorumModel::of(scenario, checking)),
    }
}
