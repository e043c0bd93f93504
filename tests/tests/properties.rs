//! Property tests over random models (docs/decisions.md §2), each stated for the inputs
//! where the earlier steps of docs/decisions.md §2 do not already decide: an active principal,
//! a known permission, a valid and covered path.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test setup fails loudly"
)]

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use tessera_core::testing::{Model, ModelQuery, model, model_with_queries};
use tessera_core::{
    AssignmentFact, CompileError, CompileRequest, Decision, Effect, Expect, KeySet, Lent, Manifest,
    NodeFact, SigningKey, Snapshot, Verifier, compile, compile_with,
};

fn open(model: &Model) -> (Manifest, Snapshot) {
    let manifest = Manifest::from_toml(&model.manifest_toml).unwrap();
    let snapshot = open_with(&manifest, model);
    (manifest, snapshot)
}

/// The model's own request (its principal, token scopes and subtrees).
fn request_of(model: &Model, provenance: bool) -> CompileRequest<'_> {
    CompileRequest {
        principal: &model.principal,
        token_scopes: model.token_scopes.as_deref(),
        under: model.under.as_deref(),
        issued_at: 10,
        expires_at: 20,
        kid: "k",
        provenance,
        hash_seed: 0,
    }
}

fn open_with(manifest: &Manifest, model: &Model) -> Snapshot {
    let payload = compile(manifest, &model.facts, &request_of(model, true)).unwrap();
    Snapshot::new(payload).unwrap()
}

/// Whether the earlier steps of docs/decisions.md §2 leave the decision to the grants.
fn decided_by_grants(snapshot: &Snapshot, query: &ModelQuery) -> bool {
    let principal = &snapshot.header().principal;
    let decision = snapshot.check(&query.permission, &query.path, query.owner.as_deref());
    principal.active && decision.diagnostic.is_none() && decision.decision != Effect::NotFound
}

/// Every registered node's chain, plus the empty path.
fn all_chains(model: &Model) -> Vec<Vec<String>> {
    let mut chains = vec![Vec::new()];
    for node in &model.facts.nodes {
        let mut chain = vec![node.node.to_string()];
        let mut parent = node.parent.clone();
        while let Some(key) = parent {
            chain.insert(0, key.to_string());
            parent = model
                .facts
                .nodes
                .iter()
                .find(|n| n.node == key)
                .and_then(|n| n.parent.clone());
        }
        chains.push(chain);
    }
    chains
}

/// Runs `property` on `cases` random inputs and returns on how many it
/// exercised its subject (the property says so by returning `true`): a
/// model with no cap cannot show that caps never add, so each test below
/// also asserts that enough of its cases did.
fn exercised<S: Strategy>(
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) -> u32 {
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let count = std::cell::Cell::new(0);
    let result = TestRunner::new(config).run(&strategy, |value| {
        if property(value)? {
            count.set(count.get() + 1);
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    count.get()
}

#[test]
fn caps_never_add_a_permission() {
    let removing = exercised(512, model_with_queries(24), |(model, queries)| {
        let (manifest, capped) = open(&model);
        let mut uncapped_model = model.clone();
        uncapped_model.facts.caps.clear();
        uncapped_model.facts.kiosk = false;
        let uncapped = open_with(&manifest, &uncapped_model);
        let mut removed = false;
        for query in queries.iter().filter(|q| decided_by_grants(&capped, q)) {
            let with = capped.check(&query.permission, &query.path, query.owner.as_deref());
            let without = uncapped.check(&query.permission, &query.path, query.owner.as_deref());
            prop_assert!(
                !with.is_allow() || without.is_allow(),
                "{query:?}: {with:?} vs {without:?}"
            );
            removed |= without.is_allow() && !with.is_allow();
        }
        Ok(removed)
    });
    assert!(
        removing >= 16,
        "only {removing} of 512 models had a cap take a permission away"
    );
}

#[test]
fn superuser_gets_exactly_the_closure_of_its_scopes() {
    let scoped = exercised(256, model_with_queries(24), |(mut model, queries)| {
        let superuser = model.facts.users.first().map(|u| u.id.clone()).unwrap();
        if let Some(user) = model.facts.users.first_mut() {
            user.superuser = true;
            user.active = true;
        }
        model.principal = superuser;
        let (manifest, snapshot) = open(&model);
        let expected = match &model.token_scopes {
            None => tessera_core::Bits::full(manifest.catalog.len()),
            Some(keys) => manifest.catalog.close(
                &manifest
                    .catalog
                    .bits_of(keys.iter().map(String::as_str))
                    .unwrap(),
            ),
        };
        let mut denied = false;
        for query in queries.iter().filter(|q| decided_by_grants(&snapshot, q)) {
            let index = manifest
                .catalog
                .permission(&query.permission)
                .unwrap()
                .index();
            let decision = snapshot.check(&query.permission, &query.path, query.owner.as_deref());
            prop_assert_eq!(decision.is_allow(), expected.contains(index), "{:?}", query);
            denied |= !decision.is_allow();
        }
        Ok(denied)
    });
    assert!(
        scoped >= 16,
        "only {scoped} of 256 models had token scopes deny a superuser something"
    );
}

#[test]
fn anything_under_a_hidden_node_is_not_found() {
    let hiding = exercised(256, model_with_queries(24), |(model, queries)| {
        let (_, snapshot) = open(&model);
        let principal = &snapshot.header().principal;
        if !principal.active || principal.superuser {
            return Ok(false);
        }
        let hidden: Vec<String> = snapshot
            .payload()
            .nodes
            .iter()
            .filter(|node| node.hidden)
            .map(|node| {
                format!(
                    "{}:{}",
                    snapshot.payload().types[node.ty as usize].name,
                    node.id
                )
            })
            .collect();
        let mut checked = false;
        for chain in all_chains(&model) {
            let Some(at) = chain.iter().position(|key| hidden.contains(key)) else {
                continue;
            };
            let mut below = chain.clone();
            below.push("item:zz".to_owned());
            for path in [&chain[..=at], &chain[..], &below[..]] {
                for query in &queries {
                    let decision = snapshot.check(&query.permission, path, None);
                    if decision.diagnostic.is_none() {
                        prop_assert_eq!(decision.decision, Effect::NotFound, "{:?}", path);
                        checked = true;
                    }
                }
            }
        }
        Ok(checked)
    });
    assert!(
        hiding >= 16,
        "only {hiding} of 256 models hid a node from their principal"
    );
}

#[test]
fn hides_is_what_every_check_answers_not_found_for() {
    let hiding = exercised(256, model_with_queries(24), |(model, queries)| {
        let (manifest, snapshot) = open(&model);
        let mut some_hidden = false;
        for chain in all_chains(&model) {
            let mut below = chain.clone();
            below.push("item:zz".to_owned());
            for path in [&chain[..], &below[..]] {
                let hidden = snapshot.hides(path);
                some_hidden |= hidden;
                for entry in manifest.catalog.entries() {
                    let decision = snapshot.check(&entry.key, path, None);
                    prop_assert_eq!(
                        hidden,
                        decision.decision == Effect::NotFound,
                        "{:?} {}",
                        path,
                        entry.key
                    );
                }
                for query in &queries {
                    let decision = snapshot.check(&query.permission, path, query.owner.as_deref());
                    if decision.diagnostic.is_none() {
                        prop_assert_eq!(
                            hidden,
                            decision.decision == Effect::NotFound,
                            "{:?}",
                            query
                        );
                    }
                }
            }
        }
        Ok(some_hidden)
    });
    assert!(
        hiding >= 16,
        "only {hiding} of 256 models had a hidden path"
    );
}

#[test]
fn check_agrees_with_the_filter_plan() {
    let both = exercised(256, model_with_queries(48), |(model, queries)| {
        let (_, snapshot) = open(&model);
        let (mut allowed, mut denied) = (false, false);
        for query in &queries {
            let decision = snapshot.check(&query.permission, &query.path, query.owner.as_deref());
            let plan = snapshot.filter_plan(&query.permission);
            let by_plan = plan.matcher().allows(&query.path, query.owner.as_deref());
            if decided_by_grants(&snapshot, query) || decision.decision == Effect::NotFound {
                prop_assert_eq!(decision.is_allow(), by_plan, "{:?} plan {:?}", query, plan);
                allowed |= by_plan;
                denied |= !by_plan;
            }
        }
        Ok(allowed && denied)
    });
    assert!(
        both >= 16,
        "only {both} of 256 models compared both an allowed and a denied item"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn text_paths_answer_like_slices((model, queries) in model_with_queries(32)) {
        let (_, snapshot) = open(&model);
        for query in queries.iter().filter(|q| q.path.iter().all(|s| !s.is_empty() && !s.contains(','))) {
            let text = query.path.join(",");
            let owner = query.owner.as_deref();
            prop_assert_eq!(
                snapshot.check_text(&query.permission, &text, owner),
                snapshot.check(&query.permission, &query.path, owner),
                "{:?}", query
            );
        }
    }

    #[test]
    fn can_anywhere_iff_some_path_allows(model in model()) {
        let (manifest, snapshot) = open(&model);
        let mut paths = all_chains(&model);
        for chain in all_chains(&model) {
            let mut child = chain.clone();
            child.push("item:new".to_owned());
            paths.push(child);
        }
        for entry in manifest.catalog.entries() {
            let some_path = paths
                .iter()
                .any(|path| snapshot.check(&entry.key, path, None) == Decision { decision: Effect::Allow, diagnostic: None });
            prop_assert_eq!(snapshot.can_anywhere(&entry.key), some_path, "{}", entry.key);
        }
    }

    #[test]
    fn decode_of_encode_is_identity(model in model()) {
        let manifest = Manifest::from_toml(&model.manifest_toml).unwrap();
        let key = SigningKey::from_seed("k", &[1; 32]);
        let request = request_of(&model, model.seed % 2 == 0);
        let payload = compile(&manifest, &model.facts, &request).unwrap();
        let envelope = key.sign(&payload).unwrap();
        let verifier = Verifier::new(KeySet::from_jwks_keys(&[key.jwk()]).unwrap());
        let opened = verifier.open(&envelope, 10, Expect::default()).unwrap();
        prop_assert_eq!(opened.payload(), &payload);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// A host that keeps an org's node tree and its groups' assignments
    /// lends them by reference: where the facts' nodes and assignments are
    /// split between the facts and the lent ones (in the same order), the
    /// payload is the one the facts give whole.
    #[test]
    fn facts_lent_compile_the_same(model in model(), nodes in any::<usize>(), assignments in any::<usize>()) {
        let manifest = Manifest::from_toml(&model.manifest_toml).unwrap();
        let request = request_of(&model, true);
        let whole = compile(&manifest, &model.facts, &request);
        let mut kept = model.facts.clone();
        let nodes = kept.nodes.split_off(nodes % (kept.nodes.len() + 1));
        let assignments = kept.assignments.split_off(assignments % (kept.assignments.len() + 1));
        let nodes: Vec<&NodeFact> = nodes.iter().collect();
        let assignments: Vec<&AssignmentFact> = assignments.iter().collect();
        let lent = Lent { nodes: &nodes, assignments: &assignments };
        prop_assert_eq!(compile_with(&manifest, &kept, &lent, &request), whole);
        if let Some(first) = model.facts.nodes.first() {
            let lent = Lent { nodes: &[first], assignments: &[] };
            let twice = compile_with(&manifest, &model.facts, &lent, &request);
            prop_assert!(matches!(twice, Err(CompileError::InvalidFacts(_))), "{twice:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn flipping_any_bit_breaks_verification(model in model(), bit in any::<usize>()) {
        let manifest = Manifest::from_toml(&model.manifest_toml).unwrap();
        let key = SigningKey::from_seed("k", &[1; 32]);
        let request = CompileRequest {
            principal: &model.principal,
            token_scopes: None,
            under: None,
            issued_at: 10,
            expires_at: 20,
            kid: "k",
            provenance: false,
            hash_seed: 0,
        };
        let envelope = key.sign(&compile(&manifest, &model.facts, &request).unwrap()).unwrap();
        let verifier = Verifier::new(KeySet::from_jwks_keys(&[key.jwk()]).unwrap());
        prop_assert!(verifier.open(&envelope, 10, Expect::default()).is_ok());
        let bit = bit % (envelope.len() * 8);
        let mut flipped = envelope.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verifier.open(&flipped, 10, Expect::default()).is_err(), "bit {}", bit);
    }
}
