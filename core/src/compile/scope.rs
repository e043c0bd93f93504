//! Step 8's choice of scope (docs/decisions.md §2):
//! along a path, each subject's assignments at the deepest scope where it
//! has any decide what the subject is granted there; its wider assignments
//! are shadowed. Public so the host's escalation rules (what removing an
//! assignment gives its subject) apply the very rule the compiler does.

/// The index in `chain` (the org root first, then each node of a path down
/// to the node asked about) of the deepest scope where `has_assignment`
/// holds: the scope whose assignments decide for this subject at the end of
/// the chain. `None` when the subject has no assignment along it.
pub fn deciding_scope<S>(chain: &[S], has_assignment: impl Fn(&S) -> bool) -> Option<usize> {
    chain.iter().rposition(has_assignment)
}

#[cfg(test)]
mod tests {
    use super::deciding_scope;

    #[test]
    fn the_deepest_scope_with_an_assignment_decides() {
        let chain = ["", "site:1", "rack:1", "miner:1"];
        let at = |scopes: &'static [&'static str]| move |scope: &&str| scopes.contains(scope);
        assert_eq!(deciding_scope(&chain, at(&["", "rack:1"])), Some(2));
        assert_eq!(deciding_scope(&chain, at(&["miner:1", ""])), Some(3));
        assert_eq!(deciding_scope(&chain, at(&[""])), Some(0));
        assert_eq!(deciding_scope(&chain, at(&["site:2"])), None);
    }
}
