//! What each protocol promises: which property holds under which faults.
//!
//! A claim covers every fault budget drawn only from the listed kinds (and
//! the budget with no fault at all). A verdict of `violated` on a claimed
//! cell is a broken claim: `locklab check` exits 1. Unclaimed cells are the
//! lessons — they are expected to break, and the tests assert that they do,
//! on the counterexample the checker found.

use crate::fault::{Fault, Faults};
use crate::property::{Kind, PropertyName};
use crate::protocol::Protocol;

/// A promise: `property` holds under any budget of these faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The promised property.
    pub property: PropertyName,
    /// The faults under which it is promised.
    pub under: &'static [Fault],
}

const ALL: &[Fault] = &[Fault::Pause, Fault::Delay, Fault::Crash, Fault::Restart];
const CRASH: &[Fault] = &[Fault::Crash];
/// Every client fault: the fencing counter lives in Redis, so a restart
/// that forgets it is the one fault fencing cannot absorb.
const CLIENT_FAULTS: &[Fault] = &[Fault::Pause, Fault::Delay, Fault::Crash];

/// The claims of a protocol (the `sometimes` witnesses are claimed by every
/// protocol and are not listed).
pub fn claims(protocol: Protocol) -> &'static [Claim] {
    use PropertyName::*;
    match protocol {
        Protocol::Naive => &[
            Claim {
                property: MutualExclusion,
                under: CRASH,
            },
            Claim {
                property: NoForeignRelease,
                under: CRASH,
            },
            Claim {
                property: EventuallyAcquired,
                under: ALL,
            },
        ],
        // The article's lock as written promises nothing beyond liveness.
        Protocol::NaiveUnchecked => &[Claim {
            property: EventuallyAcquired,
            under: ALL,
        }],
        Protocol::Token => &[
            Claim {
                property: MutualExclusion,
                under: CRASH,
            },
            Claim {
                property: NoForeignRelease,
                under: ALL,
            },
            Claim {
                property: EventuallyAcquired,
                under: ALL,
            },
        ],
        Protocol::Fenced => &[
            Claim {
                property: MutualExclusion,
                under: CRASH,
            },
            Claim {
                property: NoForeignRelease,
                under: ALL,
            },
            Claim {
                property: FencedResource,
                under: CLIENT_FAULTS,
            },
            Claim {
                property: EventuallyAcquired,
                under: ALL,
            },
        ],
    }
}

/// Whether the protocol promises `property` under `faults`.
pub fn is_claimed(protocol: Protocol, property: PropertyName, faults: Faults) -> bool {
    property.kind() == Kind::Sometimes
        || claims(protocol)
            .iter()
            .any(|c| c.property == property && faults.only(c.under))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_cover_budgets_of_the_listed_faults_only() {
        let crash2 = Faults::NONE.with(Fault::Crash, 2);
        assert!(is_claimed(
            Protocol::Token,
            PropertyName::MutualExclusion,
            crash2
        ));
        assert!(is_claimed(
            Protocol::Token,
            PropertyName::MutualExclusion,
            Faults::NONE
        ));
        let pause = Faults::one(Fault::Pause);
        assert!(!is_claimed(
            Protocol::Token,
            PropertyName::MutualExclusion,
            pause
        ));
        assert!(is_claimed(
            Protocol::Token,
            PropertyName::NoForeignRelease,
            pause
        ));
        assert!(!is_claimed(
            Protocol::Naive,
            PropertyName::NoForeignRelease,
            pause
        ));
        assert!(is_claimed(
            Protocol::NaiveUnchecked,
            PropertyName::SomeoneAcquires,
            pause
        ));
    }
}
