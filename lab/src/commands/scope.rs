//! A scenario's scope in words — clients, rounds, lease, and the nodes,
//! units or drift of the families that have them — so that every row of a
//! verdict table says what was checked: a table states what its rows
//! share, and a `scope` column what differs from row to row.

use locklab_model::Scenario;

/// One dimension of a scope, in words (`None`: the scenario has none).
type Field = fn(&Scenario) -> Option<String>;

fn plural(n: u8, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Every dimension, in the order they are told. Depth and replicas are
/// in the row's name already (`token ×2`, `token +1 replica`).
const FIELDS: [Field; 6] = [
    |s| Some(plural(s.clients, "client", "clients")),
    |s| Some(plural(s.rounds, "round", "rounds")),
    |s| Some(format!("lease {}", plural(s.ttl, "tick", "ticks"))),
    |s| (s.nodes() > 1).then(|| plural(s.nodes(), "master", "masters")),
    |s| (s.units > 0).then(|| plural(s.units, "unit", "units")),
    |s| (s.drift > 0).then(|| format!("drift {}", plural(s.drift, "tick", "ticks"))),
];

/// The scope a group of rows shares, and each row's own part of it.
pub struct Scopes {
    /// What every row has (`3 clients, 1 round, lease 3 ticks`).
    pub shared: String,
    /// Per row, what differs (empty when nothing does).
    pub rows: Vec<String>,
}

impl Scopes {
    /// Splits the scopes of `scenarios` into the shared part and each
    /// row's own.
    pub fn of(scenarios: &[Scenario]) -> Scopes {
        let varies = |field: &Field| {
            scenarios
                .windows(2)
                .any(|pair| field(&pair[0]) != field(&pair[1]))
        };
        let shared: Vec<String> = scenarios
            .first()
            .map(|first| {
                FIELDS
                    .iter()
                    .filter(|f| !varies(f))
                    .filter_map(|f| f(first))
                    .collect()
            })
            .unwrap_or_default();
        let rows = scenarios
            .iter()
            .map(|s| {
                FIELDS
                    .iter()
                    .filter(|f| varies(f))
                    .filter_map(|f| f(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        Scopes {
            shared: shared.join(", "),
            rows,
        }
    }

    /// Whether the rows differ in scope (the table needs a `scope` column).
    pub fn differ(&self) -> bool {
        self.rows.iter().any(|r| !r.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use locklab_model::{Faults, Protocol};

    #[test]
    fn what_rows_share_is_told_once_and_what_differs_on_each_row() {
        let token = Scenario::new(Protocol::named("token").unwrap(), Faults::NONE);
        let two = token.sized(2, 1, 3).unwrap();
        let three = token.sized(3, 1, 3).unwrap();
        let scopes = Scopes::of(&[two, three]);
        assert_eq!(scopes.shared, "1 round, lease 3 ticks");
        assert_eq!(scopes.rows, ["2 clients", "3 clients"]);
        assert!(scopes.differ());
        let same = Scopes::of(&[three, three]);
        assert_eq!(same.shared, "3 clients, 1 round, lease 3 ticks");
        assert!(!same.differ());
    }
}
