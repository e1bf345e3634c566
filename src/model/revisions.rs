//! Which revisions a node believes. Revisions are Lamport clocks: an honest publisher
//! only ever steps one above the highest revision it has seen. A single message far above
//! every other — a faulty or hostile publisher, or a screen's own login writing its
//! report — would otherwise pin a topic, or the whole venue, at the top of the range, and
//! nobody could declare after it. So a node believes the revisions that form a chain
//! from 0 with no step wider than [`MAX_STEP`]; a message above the first wider gap is
//! ignored, as if never sent, until honest messages close the gap. This depends on the
//! set of messages alone, never on their order, so every node decides it alike
//! (invariant 1).

/// The widest step between believable revisions. Honest steps are 1 (a chain
/// declaration may step over a venue's own revisions, which HQ counts too); 2^32 leaves
/// room for every honest case and makes walking a venue to the top of the 2^53 range
/// take millions of rounds of honest declarations.
pub const MAX_STEP: u64 = 1 << 32;

/// The highest believable revision among `revisions`, given in any order: the top of
/// the chain from 0 with no step wider than [`MAX_STEP`].
pub fn ceiling(revisions: impl IntoIterator<Item = u64>) -> u64 {
    let mut sorted: Vec<u64> = revisions.into_iter().collect();
    sorted.sort_unstable();
    let mut top: u64 = 0;
    for revision in sorted {
        if revision > top.saturating_add(MAX_STEP) {
            break;
        }
        top = revision;
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MAX_REVISION;
    use proptest::prelude::*;

    #[test]
    fn an_outlier_far_above_the_rest_is_not_believed() {
        assert_eq!(ceiling([]), 0);
        assert_eq!(ceiling([3, 1, 2]), 3);
        assert_eq!(ceiling([1, 2, MAX_REVISION]), 2);
        assert_eq!(ceiling([MAX_STEP]), MAX_STEP);
        assert_eq!(ceiling([MAX_STEP + 1]), 0);
        assert_eq!(
            ceiling([5, MAX_STEP + 5, 2 * MAX_STEP + 5]),
            2 * MAX_STEP + 5
        );
    }

    proptest! {
        #[test]
        fn the_ceiling_depends_on_the_set_not_the_order(
            mut revisions in proptest::collection::vec(prop_oneof![
                1u64..100,
                Just(MAX_REVISION),
                (1u64..4).prop_map(|n| n * MAX_STEP),
            ], 0..12),
            seed in any::<u64>(),
        ) {
            let before = ceiling(revisions.clone());
            let mut rng = seed;
            for index in (1..revisions.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                revisions.swap(index, (rng >> 33) as usize % (index + 1));
            }
            prop_assert_eq!(before, ceiling(revisions));
        }
    }
}
