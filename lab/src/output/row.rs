//! A scenario's name in a table row, the same in every command's output and
//! in the report (which reads it back): here rather than in a command, so
//! the report and the other commands need not import `check`.

use locklab_model::Scenario;

/// A row's protocol, marked `×2` when its clients acquire twice before
/// writing (a lock used re-entrantly), and `+1 replica` when its primary
/// has replicas (with its `min-replicas-to-write` and its persistence,
/// where it has them).
pub fn row_name(s: &Scenario) -> String {
    let mut name = if s.depth > 1 {
        format!("{} ×{}", s.protocol, s.depth)
    } else {
        s.protocol.to_string()
    };
    if s.replicas > 0 {
        let plural = if s.replicas == 1 { "" } else { "s" };
        name.push_str(&format!(" +{} replica{plural}", s.replicas));
    }
    if s.min_replicas_to_write > 0 {
        name.push_str(&format!(
            " (min-replicas-to-write {})",
            s.min_replicas_to_write
        ));
    }
    if !s.persistence.is_none() {
        name.push_str(&format!(" (appendfsync {})", s.persistence));
    }
    name
}
