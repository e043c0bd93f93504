//! Principal-scoped invalidation (docs/snapshots.md §3.9): after any
//! sequence of random admin writes, every answer the authority gives, from
//! a snapshot it kept past those writes or one it rebuilt, equals the
//! answer of a snapshot compiled afresh from the store at the current
//! revision. Run with a large cache (snapshots kept across writes) and a
//! one-entry cache (nearly every answer rebuilt), on both databases.

use crate::common;

use std::sync::Arc;

use tessera_core::{CompileRequest, Manifest, Member, NodeKey, Selector, Snapshot, Subject};
use tessera_host::{Actor, Admin, Asking, Authority, Store, load_facts};

const ORG: &str = "acme";
const USERS: [&str; 5] = ["u1", "u2", "u3", "u4", "u5"];
const GROUPS: [&str; 3] = ["g1", "g2", "g3"];
const PERMISSIONS: [&str; 5] = [
    "miner:read",
    "miner:reboot",
    "rack:manage",
    "site:read",
    "user:read",
];

/// A deterministic source of choices (xorshift64*), so a failure names
/// the seed that reproduces it.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let roll = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33;
        usize::try_from(roll).unwrap() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn name<'a>(&mut self, names: &[&'a str]) -> &'a str {
        names[self.below(names.len())]
    }
}

fn key(text: &str) -> NodeKey {
    text.parse().unwrap()
}

/// The org the writes start from: five members, three groups, a custom
/// role, a few nodes and assignments.
async fn seed_org(admin: &Admin) -> (String, Vec<Vec<String>>) {
    let backend = &Actor::Backend;
    for user in USERS {
        admin
            .put_user(backend, user, &common::named(user), 1)
            .await
            .unwrap();
        admin.put_member(backend, ORG, user, 1).await.unwrap();
    }
    for group in GROUPS {
        admin
            .create_group(backend, ORG, Some(group), group, false, 1)
            .await
            .unwrap();
    }
    let role = admin
        .create_role(backend, ORG, "Reader", &["miner:read".to_owned()], 1)
        .await
        .unwrap()
        .id;
    let tree = [
        ("site:1", None),
        ("site:2", None),
        ("rack:1", Some("site:1")),
        ("miner:1", Some("rack:1")),
        ("miner:2", Some("site:2")),
    ];
    for (node, parent) in tree {
        admin
            .put_node(backend, ORG, &key(node), parent.map(key).as_ref(), 1)
            .await
            .unwrap();
    }
    let grants = [
        ("g1", "FIELD_TECH", Some("site:1")),
        ("g2", "ADMIN", Some("rack:1")),
        ("g3", role.as_str(), None),
    ];
    for (group, granted, scope) in grants {
        let subject = Subject::Group(group.to_owned());
        let scope = scope.map(key);
        admin
            .create_assignment(backend, ORG, &subject, granted, scope.as_ref(), false, 1)
            .await
            .unwrap();
    }
    for (group, user) in [("g1", "u1"), ("g2", "u2"), ("g3", "u3"), ("g1", "u4")] {
        let member = Member::User(user.to_owned());
        admin
            .put_group_member(backend, ORG, group, &member, 1)
            .await
            .unwrap();
    }
    let paths = [
        vec![],
        vec!["site:1"],
        vec!["site:1", "rack:1"],
        vec!["site:1", "rack:1", "miner:1"],
        vec!["site:2"],
        vec!["site:2", "miner:2"],
        vec!["site:1", "miner:2"],
        vec!["site:1", "rack:7"],
        vec!["site:7", "rack:7", "miner:7"],
    ];
    let paths = paths
        .iter()
        .map(|path| path.iter().map(|s| (*s).to_owned()).collect())
        .collect();
    (role, paths)
}

/// One random write; a refused one (a cycle, a node in use) is fine: it
/// changes nothing. Returns the paths that name a node it registered: its
/// own, and one that puts it under another parent (which the snapshots
/// that know the node answer as inconsistent).
async fn write(admin: &Admin, dice: &mut Dice, role: &str, step: usize) -> Vec<Vec<String>> {
    let backend = &Actor::Backend;
    let now = 2;
    let user = (*dice.pick(&USERS)).to_owned();
    let group = (*dice.pick(&GROUPS)).to_owned();
    let roles = ["FIELD_TECH", "ADMIN", role];
    let scopes = [
        None,
        Some("site:1"),
        Some("rack:1"),
        Some("site:2"),
        Some("miner:2"),
    ];
    let scope = dice.pick(&scopes).map(key);
    let selectors = [
        Selector::User(user.clone()),
        Selector::Group(group.clone()),
        Selector::Everyone,
        Selector::NotGroup(group.clone()),
    ];
    match dice.below(16) {
        14 => {
            let _ = if dice.below(2) == 0 {
                admin.put_member(backend, ORG, "u5", now).await
            } else {
                admin.delete_member(backend, ORG, "u5", now).await
            };
        }
        15 => {
            let flags = tessera_host::UserUpdate {
                active: Some(dice.below(3) != 0),
                ..tessera_host::UserUpdate::default()
            };
            let _ = admin.put_user(backend, "u4", &flags, now).await;
        }
        0 | 1 => {
            let subjects = [Subject::User(user), Subject::Group(group), Subject::Members];
            let subject = dice.pick(&subjects);
            let _ = admin
                .create_assignment(
                    backend,
                    ORG,
                    subject,
                    dice.name(&roles),
                    scope.as_ref(),
                    false,
                    now,
                )
                .await;
        }
        2 => {
            let all = admin.list_assignments(backend, ORG).await.unwrap();
            if !all.is_empty() {
                let id = &dice.pick(&all).id;
                let _ = admin.delete_assignment(backend, ORG, id, now).await;
            }
        }
        3 => {
            let member = Member::User(user);
            let _ = admin
                .put_group_member(backend, ORG, &group, &member, now)
                .await;
        }
        4 => {
            let member = Member::User(user);
            let _ = admin
                .delete_group_member(backend, ORG, &group, &member, now)
                .await;
        }
        5 | 6 => {
            let member = Member::Group((*dice.pick(&GROUPS)).to_owned());
            let _ = if dice.below(2) == 0 {
                admin
                    .put_group_member(backend, ORG, &group, &member, now)
                    .await
            } else {
                admin
                    .delete_group_member(backend, ORG, &group, &member, now)
                    .await
            };
        }
        7 => {
            let parents = [None, Some("site:1"), Some("rack:1"), Some("site:2")];
            let parent = *dice.pick(&parents);
            let (ty, chain, elsewhere): (&str, &[&str], &[&str]) = match parent {
                None => ("site", &[], &[]),
                Some("rack:1") => ("miner", &["site:1", "rack:1"], &["site:2"]),
                Some("site:1") => ("rack", &["site:1"], &["site:2"]),
                Some(_) => ("rack", &["site:2"], &["site:1"]),
            };
            let node = format!("{ty}:n{step}");
            admin
                .put_node(backend, ORG, &key(&node), parent.map(key).as_ref(), now)
                .await
                .unwrap();
            let path = |chain: &[&str]| -> Vec<String> {
                chain
                    .iter()
                    .map(|s| (*s).to_owned())
                    .chain([node.clone()])
                    .collect()
            };
            return vec![path(chain), path(elsewhere)];
        }
        8 => {
            let leaves = ["miner:1", "miner:2", "rack:1"];
            let _ = admin
                .delete_node(backend, ORG, &key(dice.name(&leaves)), now)
                .await;
        }
        9 => {
            let miners = ["miner:1", "miner:2"];
            let node = key(dice.name(&miners));
            let _ = admin
                .create_hidden(backend, ORG, dice.pick(&selectors), &node, now)
                .await;
        }
        10 => {
            let all = admin.list_hidden(backend, ORG).await.unwrap();
            if !all.is_empty() {
                let id = &dice.pick(&all).id;
                let _ = admin.delete_hidden(backend, ORG, id, now).await;
            }
        }
        11 => {
            let allow = [vec![], vec!["miner:read".to_owned()]];
            let _ = admin
                .create_cap(
                    backend,
                    ORG,
                    dice.pick(&selectors),
                    scope.as_ref(),
                    dice.pick(&allow[..]).as_slice(),
                    now,
                )
                .await;
        }
        12 => {
            let all = admin.list_caps(backend, ORG).await.unwrap();
            if !all.is_empty() {
                let id = &dice.pick(&all).id;
                let _ = admin.delete_cap(backend, ORG, id, now).await;
            }
        }
        _ => {
            let sets = [
                vec!["miner:read".to_owned()],
                vec!["miner:reboot".to_owned(), "site:read".to_owned()],
                vec![],
            ];
            let _ = admin
                .update_role(
                    backend,
                    ORG,
                    role,
                    None,
                    Some(dice.pick(&sets[..]).as_slice()),
                    now,
                )
                .await;
        }
    }
    Vec::new()
}

/// One question asked after every write: a principal, maybe narrowed to
/// token scopes, maybe a subtree snapshot.
struct Question {
    principal: &'static str,
    token_scopes: Option<Vec<String>>,
    under: Option<Vec<NodeKey>>,
}

impl Question {
    fn asking(&self) -> Asking<'_> {
        Asking {
            org: ORG,
            principal: self.principal,
            token_scopes: self.token_scopes.as_deref(),
            under: self.under.as_deref(),
            min_revision: None,
        }
    }
}

/// The questions: every user and anonymous, plus a narrowed and a subtree
/// snapshot.
fn questions() -> Vec<Question> {
    let plain = |principal| Question {
        principal,
        token_scopes: None,
        under: None,
    };
    let mut all: Vec<Question> = USERS
        .iter()
        .copied()
        .chain(["anonymous"])
        .map(plain)
        .collect();
    all.push(Question {
        token_scopes: Some(vec!["miner:read".to_owned(), "rack:manage".to_owned()]),
        ..plain("u2")
    });
    all.push(Question {
        under: Some(vec![key("site:1")]),
        ..plain("u1")
    });
    all
}

/// The question's snapshot compiled afresh from the store.
async fn fresh(store: &Store, manifest: &Manifest, question: &Question) -> Snapshot {
    let under = question.under.clone().unwrap_or_default();
    let mut tx = store.pool().begin().await.unwrap();
    let facts = load_facts(&mut tx, ORG, question.principal, &under)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let request = CompileRequest {
        principal: question.principal,
        token_scopes: question.token_scopes.as_deref(),
        under: question.under.as_deref(),
        issued_at: 0,
        expires_at: 1,
        kid: "",
        provenance: false,
        hash_seed: 7,
    };
    Snapshot::new(tessera_core::compile(manifest, &facts, &request).unwrap()).unwrap()
}

/// What a snapshot answers about `path`: its effective keys, whether it
/// hides it, and the full decision on each of [`PERMISSIONS`].
fn answers(snapshot: &Snapshot, path: &[String]) -> String {
    let decisions: Vec<String> = PERMISSIONS
        .iter()
        .map(|permission| format!("{:?}", snapshot.check(permission, path, None)))
        .collect();
    format!(
        "{:?} hidden={} {decisions:?}",
        snapshot.effective(path, None),
        snapshot.hides(path)
    )
}

/// What one run saw: snapshots kept past a write, structures brought up
/// to date, and answers a write changed (the writes mattered).
#[derive(Default)]
struct Seen {
    kept: u64,
    updates: u64,
    changed: u64,
}

async fn run(url: &str, capacity: usize, seed: u64, seen: &mut Seen) {
    let store = Store::connect(url).await.unwrap();
    store.migrate_down(0).await.unwrap();
    store.migrate_up().await.unwrap();
    let manifest = Arc::new(Manifest::from_toml(common::FLEET).unwrap());
    let authority = Authority::new(store.clone(), Arc::clone(&manifest), capacity);
    let admin = common::acme(&store).await.with_changes(authority.changes());
    let (role, mut paths) = seed_org(&admin).await;
    let mut dice = Dice(seed);
    let questions = questions();
    let mut before: Vec<String> = vec![String::new(); questions.len()];
    for step in 0..60 {
        paths.extend(write(&admin, &mut dice, &role, step).await);
        for (at, question) in questions.iter().enumerate() {
            let principal = question.principal;
            let (served, _) = authority.snapshot(&question.asking()).await.unwrap();
            let fresh = fresh(&store, &manifest, question).await;
            let mut now = String::new();
            for path in &paths {
                let answer = answers(&fresh, path);
                assert_eq!(
                    answers(&served, path),
                    answer,
                    "seed {seed}, step {step}, capacity {capacity}: {principal} ({:?}, {:?}) at {path:?}",
                    question.token_scopes,
                    question.under
                );
                now.push_str(&answer);
            }
            if !now.starts_with(&before[at]) {
                seen.changed += 1;
            }
            before[at] = now;
        }
    }
    let stats = authority.stats();
    seen.kept += stats.kept.iter().sum::<u64>();
    seen.updates += stats.structure_updates;
    store.close().await;
}

both_backends!(
    kept_snapshots_answer_as_fresh_ones,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let mut seen = Seen::default();
            for seed in [0x5EED_0001_u64, 0x5EED_0002, 0x5EED_0003] {
                run(&url, 1000, seed, &mut seen).await;
                run(&url, 1, seed, &mut seen).await;
            }
            // The test means something only if writes changed answers while
            // other snapshots were kept past them, and structures were brought
            // up to date.
            let Seen {
                kept,
                updates,
                changed,
            } = seen;
            assert!(kept > 100, "{kept} snapshots kept past a write");
            assert!(updates > 20, "{updates} structure updates");
            assert!(changed > 50, "{changed} answers changed by a write");
        }
    }
);

/// A `tessera_snapshot_writes_total` counter out of `/metrics`.
pub(crate) fn writes_counted(metrics: &str, kind: &str, result: &str) -> u64 {
    let series = format!("tessera_snapshot_writes_total{{kind=\"{kind}\",result=\"{result}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
}

async fn check(server: &common::TestServer, principal: &str) -> String {
    let query = serde_json::json!({"org": "acme", "principal": principal, "permission": "rack:manage", "path": ["site:1"]});
    let (status, body) = server
        .call(reqwest::Method::POST, "/v1/check", Some(query))
        .await;
    assert_eq!(status, 200, "{body}");
    body["decision"].as_str().unwrap().to_owned()
}

async fn metrics(server: &common::TestServer) -> String {
    let (status, text) = server.call(reqwest::Method::GET, "/metrics", None).await;
    assert_eq!(status, 200);
    text.as_str().unwrap().to_owned()
}

/// A server with org `acme`, members alice and bob, and node `site:1`.
async fn acme_with_alice_and_bob(db: &common::TestDb) -> common::TestServer {
    use reqwest::Method;
    use serde_json::json;
    let server = common::TestServer::start(db, crate::http_util::FLEET).await;
    let setup = [
        (
            Method::POST,
            "/v1/orgs",
            Some(json!({"id": "acme", "name": "Acme"})),
        ),
        (
            Method::PUT,
            "/v1/users/alice",
            Some(json!({"name": "Alice"})),
        ),
        (Method::PUT, "/v1/users/bob", Some(json!({"name": "Bob"}))),
        (Method::PUT, "/v1/orgs/acme/members/alice", None),
        (Method::PUT, "/v1/orgs/acme/members/bob", None),
        (
            Method::PUT,
            "/v1/orgs/acme/nodes/site/1",
            Some(json!({"parent": null})),
        ),
    ];
    for (method, path, body) in setup {
        let (status, answer) = server.call(method, path, body).await;
        assert!(status < 300, "{path}: {status} {answer}");
    }
    server
}

/// A grant to alice leaves bob's kept snapshot in place (counted as kept
/// for an assignment) while alice's next check sees the grant; a node no
/// policy names leaves both.
async fn one_user_write(db: &common::TestDb) {
    use reqwest::Method;
    use serde_json::json;
    let server = acme_with_alice_and_bob(db).await;
    let grant = json!({"subject": "user:bob", "role": "FIELD_TECH", "scope": "site:1"});
    let (status, _) = server
        .call(Method::POST, "/v1/orgs/acme/assignments", Some(grant))
        .await;
    assert_eq!(status, 201);
    assert_eq!(check(&server, "alice").await, "deny");
    assert_eq!(check(&server, "bob").await, "allow");
    let before = metrics(&server).await;

    let grant = json!({"subject": "user:alice", "role": "FIELD_TECH", "scope": "site:1"});
    let (status, _) = server
        .call(Method::POST, "/v1/orgs/acme/assignments", Some(grant))
        .await;
    assert_eq!(status, 201);
    assert_eq!(check(&server, "bob").await, "allow");
    let after_bob = metrics(&server).await;
    assert_eq!(check(&server, "alice").await, "allow");
    let after_alice = metrics(&server).await;
    let count = |metrics: &str, result| writes_counted(metrics, "assignment", result);
    assert_eq!(count(&after_bob, "kept"), count(&before, "kept") + 1);
    assert_eq!(
        count(&after_bob, "invalidated"),
        count(&before, "invalidated")
    );
    assert_eq!(
        count(&after_alice, "invalidated"),
        count(&before, "invalidated") + 1
    );

    let (status, _) = server
        .call(
            Method::PUT,
            "/v1/orgs/acme/nodes/site/2",
            Some(json!({"parent": null})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(check(&server, "alice").await, "allow");
    assert_eq!(check(&server, "bob").await, "allow");
    let after_node = metrics(&server).await;
    let nodes = |metrics: &str, result| writes_counted(metrics, "node", result);
    assert_eq!(nodes(&after_node, "kept"), nodes(&after_alice, "kept") + 2);
    assert_eq!(
        nodes(&after_node, "invalidated"),
        nodes(&after_alice, "invalidated")
    );
    server.stop().await;
}

both_backends!(
    a_write_touching_one_user_keeps_the_others_snapshots,
    one_user_write
);

/// `GET …/snapshot` for `principal`, with `If-None-Match: tag` when
/// given: the status, the `ETag` and the body's length.
async fn export(
    server: &common::TestServer,
    query: &str,
    tag: Option<&str>,
) -> (u16, String, usize) {
    let mut request = server.request(
        reqwest::Method::GET,
        &format!("/v1/orgs/acme/snapshot?{query}"),
    );
    if let Some(tag) = tag {
        request = request.header("if-none-match", tag);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let etag = response
        .headers()
        .get("etag")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.bytes().await.unwrap();
    (status, etag, body.len())
}

/// A copy the client holds is not sent again while no write can have
/// changed it (`304`, empty body, the same tag); a write touching the
/// principal, another question or another principal gets a new snapshot.
async fn not_modified(db: &common::TestDb) {
    use reqwest::Method;
    use serde_json::json;
    let server = acme_with_alice_and_bob(db).await;
    let (status, tag, size) = export(&server, "principal=bob", None).await;
    assert_eq!(status, 200);
    assert!(tag.starts_with("W/\"") && size > 0, "{tag}");
    assert_eq!(
        export(&server, "principal=bob", Some(&tag)).await,
        (304, tag.clone(), 0)
    );

    // A grant to alice: bob's copy still holds.
    let grant = |user: &str| json!({"subject": format!("user:{user}"), "role": "FIELD_TECH", "scope": "site:1"});
    let (status, _) = server
        .call(
            Method::POST,
            "/v1/orgs/acme/assignments",
            Some(grant("alice")),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(export(&server, "principal=bob", Some(&tag)).await.0, 304);
    // Another principal, another question: the tag does not name them.
    assert_eq!(export(&server, "principal=alice", Some(&tag)).await.0, 200);
    let narrowed = "principal=bob&token_scopes=miner:read";
    assert_eq!(export(&server, narrowed, Some(&tag)).await.0, 200);
    // A grant to bob: a new snapshot and a new tag, which holds in turn.
    let (status, _) = server
        .call(
            Method::POST,
            "/v1/orgs/acme/assignments",
            Some(grant("bob")),
        )
        .await;
    assert_eq!(status, 201);
    let (status, new_tag, size) = export(&server, "principal=bob", Some(&tag)).await;
    assert_eq!(status, 200);
    assert!(new_tag != tag && size > 0);
    assert_eq!(
        export(&server, "principal=bob", Some(&new_tag)).await.0,
        304
    );
    // A tag of ours that is malformed, or no tag of ours, is ignored.
    assert_eq!(
        export(&server, "principal=bob", Some("W/\"x\"")).await.0,
        200
    );
    assert_eq!(export(&server, "principal=bob", Some("*")).await.0, 200);
    server.stop().await;
}

both_backends!(unchanged_snapshots_are_not_sent_again, not_modified);

/// A check that reads the revision of a write this server is still
/// committing (committed in the store, not yet in the log) waits for the
/// write to be recorded, and keeps the snapshots it does not touch,
/// instead of taking the revision as unknown and rebuilding.
async fn committing_write(db: &common::TestDb) {
    use tessera_core::Reach;
    use tessera_host::{Change, Delta, WriteKind};
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate_up().await.unwrap();
    let manifest = Arc::new(Manifest::from_toml(common::FLEET).unwrap());
    let authority = Arc::new(Authority::new(store.clone(), Arc::clone(&manifest), 10));
    let admin = common::acme(&store).await.with_changes(authority.changes());
    let backend = &Actor::Backend;
    admin
        .put_user(backend, "alice", &common::named("Alice"), 1)
        .await
        .unwrap();
    admin.put_member(backend, ORG, "alice", 1).await.unwrap();
    let alice = Question {
        principal: "alice",
        token_scopes: None,
        under: None,
    };
    authority.snapshot(&alice.asking()).await.unwrap();
    let before = authority.stats();

    let changes = authority.changes();
    let committing = changes.committing(ORG);
    let (revision,): (i64,) =
        sqlx::query_as("UPDATE orgs SET revision = revision + 1 WHERE id = $1 RETURNING revision")
            .bind(ORG)
            .fetch_one(store.pool())
            .await
            .unwrap();
    let asked = {
        let authority = Arc::clone(&authority);
        tokio::spawn(async move {
            let alice = Question {
                principal: "alice",
                token_scopes: None,
                under: None,
            };
            authority.snapshot(&alice.asking()).await.unwrap().1
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let nobody = Change::new(WriteKind::Node, Reach::nobody(), Delta::None);
    changes.record(ORG, u64::try_from(revision).unwrap(), nobody);
    drop(committing);
    assert_eq!(asked.await.unwrap(), u64::try_from(revision).unwrap());
    let after = authority.stats();
    assert_eq!(
        after.misses, before.misses,
        "the snapshot was kept, not rebuilt"
    );
    let node = WriteKind::Node.index();
    assert_eq!(after.kept[node], before.kept[node] + 1);
    store.close().await;
}

both_backends!(a_check_waits_for_a_write_being_recorded, committing_write);
