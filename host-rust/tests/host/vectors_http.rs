//! Vectors over HTTP: every vector file's facts are written into a fresh
//! database through the model endpoints of a real bound server (one HTTP
//! call per admin call of `common::import`), and every case is asked
//! through the decision endpoints (`/v1/check`, `/v1/check/batch`,
//! `/v1/can-anywhere`, `/v1/guard`, `/v1/filter`, `/v1/explain`,
//! `…/effective`, `…/nav`, `…/claims`). The answers, reshaped into the
//! core's JSON shapes, must match the vectors exactly as the pure core
//! runner's do.
//!
//! Subtree cases (`under`), which no decision endpoint can express, are
//! answered by the signed subtree snapshot `GET …/snapshot?under=` exports
//! (verified with `GET /v1/keys`, opened with tessera-core); every other
//! case (at least 90% of all) goes through the decision endpoints.

use crate::common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::ffi::Query;
use tessera_core::{
    CheckRequest, Decision, Diagnostic, Effect, Expect, Facts, FilterPlan, Manifest, NodeKey,
    RoleMode, Verifier,
};
use tessera_tests::{Case, LoadedFile, load_file, matches, vector_files};

use common::TestServer;

/// Percent-encodes one URL path segment or query value.
fn enc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            write!(out, "%{byte:02X}").unwrap();
        }
    }
    out
}

/// A `?a=b&c=d` query string, each value encoded.
fn query_string(params: &[(&str, String)]) -> String {
    let pairs: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{name}={}", enc(value)))
        .collect();
    format!("?{}", pairs.join("&"))
}

/// What loading one file's facts through HTTP observed.
#[derive(Default)]
struct Loaded {
    /// Vector group id → the server's group id.
    groups: HashMap<String, String>,
    /// Vector custom role id → the server's role id.
    roles: HashMap<String, String>,
    /// The server's cap id → the vector's.
    cap_ids: BTreeMap<String, String>,
    /// Model calls answered with another 2xx status than issue 4 specifies.
    status_notes: Vec<String>,
    /// Whether `POST …/groups` kept the ids the vectors gave.
    group_ids_kept: bool,
}

impl Loaded {
    fn group(&self, id: &str) -> String {
        self.groups
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    /// `group:<id>` / `not_group:<id>` (members, subjects, selectors) with
    /// the server's group id; anything else unchanged.
    fn translate(&self, text: &str) -> String {
        for prefix in ["group:", "not_group:"] {
            if let Some(id) = text.strip_prefix(prefix) {
                return format!("{prefix}{}", self.group(id));
            }
        }
        text.to_owned()
    }
}

/// One model call that must succeed; a status other than `expected` (but
/// still 2xx) is noted, not fatal.
async fn model_call(
    server: &TestServer,
    loaded: &mut Loaded,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: u16,
) -> Value {
    let (status, answer) = server.call(method.clone(), path, body.clone()).await;
    assert!(
        (200..300).contains(&status),
        "model call {method} {path} {} → {status} {answer}",
        body.map(|body| body.to_string()).unwrap_or_default()
    );
    if status != expected {
        loaded
            .status_notes
            .push(format!("{method} {path} → {status} (issue 4: {expected})"));
    }
    answer
}

/// Writes `facts` through the model endpoints, mirroring `common::import`
/// call for call.
async fn load(server: &TestServer, manifest: &Manifest, facts: &Facts) -> Loaded {
    let mut loaded = Loaded {
        group_ids_kept: true,
        ..Loaded::default()
    };
    let org = facts.org.as_str();
    let o = enc(org);
    model_call(
        server,
        &mut loaded,
        Method::POST,
        "/v1/orgs",
        Some(json!({"id": org, "name": org})),
        201,
    )
    .await;
    for user in &facts.users {
        let name = user.name.clone().unwrap_or_else(|| user.id.clone());
        let body = json!({"name": name, "superuser": user.superuser, "active": true});
        let path = format!("/v1/users/{}", enc(&user.id));
        model_call(server, &mut loaded, Method::PUT, &path, Some(body), 200).await;
    }
    for member in &facts.members {
        let path = format!("/v1/orgs/{o}/members/{}", enc(member));
        model_call(server, &mut loaded, Method::PUT, &path, None, 204).await;
    }
    // Deactivate after the memberships, before any assignment (guards).
    for user in facts.users.iter().filter(|user| !user.active) {
        let name = user.name.clone().unwrap_or_else(|| user.id.clone());
        let body = json!({"name": name, "superuser": user.superuser, "active": false});
        let path = format!("/v1/users/{}", enc(&user.id));
        model_call(server, &mut loaded, Method::PUT, &path, Some(body), 200).await;
    }
    for group in &facts.groups {
        let name = group.name.clone().unwrap_or_else(|| group.id.clone());
        if group.id == "members" {
            let path = format!("/v1/orgs/{o}/groups/members");
            let body = json!({"name": name, "default": group.default});
            model_call(server, &mut loaded, Method::PATCH, &path, Some(body), 200).await;
            loaded.groups.insert(group.id.clone(), "members".to_owned());
            continue;
        }
        let path = format!("/v1/orgs/{o}/groups");
        let with_id = json!({"id": group.id, "name": name, "default": group.default});
        let (status, mut answer) = server
            .call(Method::POST, &path, Some(with_id.clone()))
            .await;
        if status == 400 || status == 422 {
            // The endpoint does not take ids: use the one it generates.
            loaded.group_ids_kept = false;
            let body = json!({"name": name, "default": group.default});
            answer = model_call(server, &mut loaded, Method::POST, &path, Some(body), 201).await;
        } else {
            assert!(
                (200..300).contains(&status),
                "POST {path} {with_id} → {status} {answer}"
            );
            if status != 201 {
                loaded
                    .status_notes
                    .push(format!("POST {path} → {status} (issue 4: 201)"));
            }
        }
        let id = answer["id"]
            .as_str()
            .unwrap_or_else(|| panic!("POST {path}: no group id in {answer}"))
            .to_owned();
        if id != group.id {
            loaded.group_ids_kept = false;
        }
        loaded.groups.insert(group.id.clone(), id);
    }
    if !facts.groups.iter().any(|group| group.id == "members") {
        let path = format!("/v1/orgs/{o}/groups/members");
        model_call(server, &mut loaded, Method::DELETE, &path, None, 204).await;
    }
    for edge in &facts.group_members {
        let member = loaded.translate(&edge.member.to_string());
        let (kind, id) = member.split_once(':').expect("user:<id> or group:<id>");
        let path = format!(
            "/v1/orgs/{o}/groups/{}/members/{kind}/{}",
            enc(&loaded.group(&edge.group)),
            enc(id)
        );
        model_call(server, &mut loaded, Method::PUT, &path, None, 204).await;
    }
    for node in &facts.nodes {
        let path = format!(
            "/v1/orgs/{o}/nodes/{}/{}",
            enc(&node.node.ty),
            enc(&node.node.id)
        );
        let body = json!({"parent": node.parent.as_ref().map(ToString::to_string)});
        model_call(server, &mut loaded, Method::PUT, &path, Some(body), 204).await;
    }
    let catalog: BTreeSet<&str> = manifest
        .catalog
        .entries()
        .iter()
        .map(|entry| entry.key.as_str())
        .collect();
    for role in &facts.roles {
        let keys: Vec<&String> = role
            .permissions
            .iter()
            .filter(|key| catalog.contains(key.as_str()))
            .collect();
        match manifest.builtin(&role.id) {
            Some(builtin) if builtin.mode == RoleMode::Immutable => {}
            Some(_) => {
                let path = format!("/v1/orgs/{o}/roles/{}", enc(&role.id));
                let body = json!({"permissions": keys});
                model_call(server, &mut loaded, Method::PATCH, &path, Some(body), 200).await;
            }
            None => {
                let name = role.name.clone().unwrap_or_else(|| role.id.clone());
                let path = format!("/v1/orgs/{o}/roles");
                let body = json!({"name": name, "permissions": keys});
                let view =
                    model_call(server, &mut loaded, Method::POST, &path, Some(body), 201).await;
                let id = view["id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("POST {path}: no role id in {view}"));
                loaded.roles.insert(role.id.clone(), id.to_owned());
            }
        }
    }
    for assignment in &facts.assignments {
        let role = loaded
            .roles
            .get(&assignment.role)
            .cloned()
            .unwrap_or_else(|| assignment.role.clone());
        let body = json!({
            "subject": loaded.translate(&assignment.subject.to_string()),
            "role": role,
            "scope": assignment.scope.as_ref().map(ToString::to_string),
            "owner_only": assignment.owner_only,
        });
        let path = format!("/v1/orgs/{o}/assignments");
        model_call(server, &mut loaded, Method::POST, &path, Some(body), 201).await;
    }
    for hidden in &facts.hidden {
        let body = json!({
            "selector": loaded.translate(&hidden.selector.to_string()),
            "node": hidden.node.to_string(),
        });
        let path = format!("/v1/orgs/{o}/hidden");
        model_call(server, &mut loaded, Method::POST, &path, Some(body), 201).await;
    }
    for cap in &facts.caps {
        let body = json!({
            "selector": loaded.translate(&cap.selector.to_string()),
            "scope": cap.scope.as_ref().map(ToString::to_string),
            "allow": cap.allow,
        });
        let path = format!("/v1/orgs/{o}/caps");
        let view = model_call(server, &mut loaded, Method::POST, &path, Some(body), 201).await;
        if let (Some(id), Some(fact_id)) = (view["id"].as_str(), &cap.id) {
            loaded.cap_ids.insert(id.to_owned(), fact_id.clone());
        }
    }
    let path = format!("/v1/orgs/{o}/settings");
    let body = json!({"kiosk": facts.kiosk});
    model_call(server, &mut loaded, Method::PUT, &path, Some(body), 200).await;
    loaded
}

/// Asks a subtree case (`under`): no decision endpoint takes subtree
/// roots, so the case is answered by the signed subtree snapshot that
/// `GET …/snapshot?under=` exports, verified with `GET /v1/keys` and opened
/// with tessera-core, as a client holding it would.
async fn answer_from_snapshot(
    server: &TestServer,
    org: &str,
    case: &Case,
    under: &[NodeKey],
) -> Result<Value, String> {
    let (status, jwks) = server.call(Method::GET, "/v1/keys", None).await;
    if status != 200 {
        return Err(format!("GET /v1/keys → {status} {jwks}"));
    }
    let verifier =
        Verifier::from_jwks(&jwks.to_string()).map_err(|err| format!("JWKS {jwks}: {err}"))?;
    let roots: Vec<String> = under.iter().map(ToString::to_string).collect();
    let url = format!(
        "/v1/orgs/{}/snapshot{}",
        enc(org),
        who_query(case, vec![("under", roots.join(","))])
    );
    let response = server
        .request(Method::GET, &url)
        .send()
        .await
        .map_err(|err| format!("GET {url}: {err}"))?;
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|err| format!("GET {url}: {err}"))?;
    if status != 200 {
        return Err(format!(
            "GET {url} → {status} {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|err| err.to_string())?
        .as_secs();
    let expect = Expect {
        org: Some(org),
        principal: Some(&case.principal),
    };
    let snapshot = verifier
        .open(&bytes, now, expect)
        .map_err(|err| format!("GET {url}: the snapshot does not open: {err}"))?;
    Ok(snapshot.answer(&case.query))
}

/// A 200 JSON answer of a decision endpoint, or why not.
async fn decide(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let (status, answer) = server.call(method.clone(), path, body.clone()).await;
    if status != 200 {
        return Err(format!(
            "{method} {path} {} → {status} {answer}",
            body.map(|body| body.to_string()).unwrap_or_default()
        ));
    }
    if answer.get("revision").and_then(Value::as_u64).is_none() {
        return Err(format!("{method} {path}: no revision in {answer}"));
    }
    Ok(answer)
}

/// `answer` without its `revision` (the core's object shape).
fn without_revision(mut answer: Value) -> Value {
    if let Some(fields) = answer.as_object_mut() {
        fields.remove("revision");
    }
    answer
}

/// One field of an answer.
fn field(answer: &Value, name: &str) -> Result<Value, String> {
    answer
        .get(name)
        .cloned()
        .ok_or_else(|| format!("no `{name}` in {answer}"))
}

/// The JSON body of a decision call: who is asking, plus `fields`.
fn body(org: &str, case: &Case, fields: Value) -> Value {
    let mut body = json!({
        "org": org,
        "principal": case.principal,
        "token_scopes": case.token_scopes,
    });
    if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
        body.extend(fields);
    }
    body
}

/// The query string of a GET decision call, plus `extra`.
fn who_query(case: &Case, extra: Vec<(&'static str, String)>) -> String {
    let mut params = vec![("principal", case.principal.clone())];
    if let Some(scopes) = &case.token_scopes {
        params.push(("token_scopes", scopes.join(",")));
    }
    params.extend(extra);
    query_string(&params)
}

/// Counts of the run, for the report.
#[derive(Default)]
struct Tally {
    /// Cases asked through the decision endpoints.
    decision_endpoints: usize,
    /// Subtree cases answered by an exported snapshot.
    snapshot_export: usize,
    by_query: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
    notes: Vec<String>,
}

fn query_name(query: &Query) -> &'static str {
    match query {
        Query::Check(_) => "check",
        Query::CheckMany { .. } => "check_many",
        Query::CanAnywhere { .. } => "can_anywhere",
        Query::Effective { .. } => "effective",
        Query::Filter { .. } => "filter",
        Query::FilterPlan { .. } => "filter_plan",
        Query::Guard { .. } => "guard",
        Query::Nav {} => "nav",
        Query::Claims {} => "claims",
        Query::Explain(_) => "explain",
        Query::Header {} => "header",
    }
}

fn check_fields(args: &CheckRequest) -> Value {
    json!({"permission": args.permission, "path": args.path, "owner": args.owner})
}

/// Asks one case over HTTP; answers in the core's shape.
async fn answer(server: &TestServer, org: &str, case: &Case) -> Result<Value, String> {
    let o = enc(org);
    match &case.query {
        Query::Check(args) => {
            let body = body(org, case, check_fields(args));
            let answer = decide(server, Method::POST, "/v1/check", Some(body)).await?;
            Ok(without_revision(answer))
        }
        Query::CheckMany { checks } => {
            let body = body(org, case, json!({ "checks": checks }));
            let answer = decide(server, Method::POST, "/v1/check/batch", Some(body)).await?;
            field(&answer, "decisions")
        }
        Query::CanAnywhere { permission } => {
            let body = body(org, case, json!({ "permission": permission }));
            let answer = decide(server, Method::POST, "/v1/can-anywhere", Some(body)).await?;
            field(&answer, "allowed")
        }
        Query::Effective { path, owner } => {
            let mut extra = vec![("path", path.join(","))];
            if let Some(owner) = owner {
                extra.push(("owner", owner.clone()));
            }
            let url = format!("/v1/orgs/{o}/effective{}", who_query(case, extra));
            let answer = decide(server, Method::GET, &url, None).await?;
            field(&answer, "permissions")
        }
        Query::FilterPlan { permission } => {
            let body = body(org, case, json!({ "permission": permission }));
            let answer = decide(server, Method::POST, "/v1/filter", Some(body)).await?;
            field(&answer, "plan")
        }
        Query::Filter { permission, items } => {
            let request = body(org, case, json!({ "permission": permission }));
            let answer = decide(server, Method::POST, "/v1/filter", Some(request)).await?;
            let plan: FilterPlan = serde_json::from_value(field(&answer, "plan")?)
                .map_err(|err| format!("plan: {err}: {answer}"))?;
            let matcher = plan.matcher();
            // The host filters a list by its batch check (what the items
            // keep is its answer) and by the plan it serves (what a
            // database would keep): on every path `check` accepts as valid
            // the two must agree, or the runner fails.
            let checks: Vec<CheckRequest> = items
                .iter()
                .map(|item| CheckRequest {
                    permission: permission.clone(),
                    path: item.path.clone(),
                    owner: item.owner.clone(),
                })
                .collect();
            let request = body(org, case, json!({ "checks": checks }));
            let batch = decide(server, Method::POST, "/v1/check/batch", Some(request)).await?;
            let decisions: Vec<Decision> = serde_json::from_value(field(&batch, "decisions")?)
                .map_err(|err| format!("decisions: {err}: {batch}"))?;
            let mut kept = Vec::new();
            for (item, decision) in items.iter().zip(&decisions) {
                let allowed = decision.decision == Effect::Allow;
                let valid = !matches!(
                    decision.diagnostic,
                    Some(Diagnostic::InvalidPath | Diagnostic::OutsideSnapshot)
                );
                if valid && matcher.allows(&item.path, item.owner.as_deref()) != allowed {
                    return Err(format!(
                        "filter: the plan and check disagree on item `{}`: {answer}",
                        item.id
                    ));
                }
                if allowed {
                    kept.push(Value::String(item.id.clone()));
                }
            }
            Ok(Value::Array(kept))
        }
        Query::Guard { route } => {
            let body = body(org, case, json!({ "route": route }));
            let answer = decide(server, Method::POST, "/v1/guard", Some(body)).await?;
            Ok(without_revision(answer))
        }
        Query::Nav {} => {
            let url = format!("/v1/orgs/{o}/nav{}", who_query(case, Vec::new()));
            let answer = decide(server, Method::GET, &url, None).await?;
            field(&answer, "nav")
        }
        Query::Claims {} => {
            let url = format!("/v1/orgs/{o}/claims{}", who_query(case, Vec::new()));
            let answer = decide(server, Method::GET, &url, None).await?;
            field(&answer, "claims")
        }
        Query::Header {} => {
            // No decision endpoint answers the header: it is what a client
            // reads from the snapshot the host exports.
            answer_from_snapshot(server, org, case, &[]).await
        }
        Query::Explain(args) => {
            let body = body(org, case, check_fields(args));
            let answer = decide(server, Method::POST, "/v1/explain", Some(body)).await?;
            let trace = field(&answer, "trace")?;
            if answer.get("decision") != trace.get("decision") {
                return Err(format!("explain: decision differs from trace's: {answer}"));
            }
            Ok(trace)
        }
    }
}

/// Runs one file on a fresh database of `backend` and its own server.
async fn run_file(backend: tessera_host::Backend, file: &LoadedFile, tally: &mut Tally) {
    let manifest = Manifest::from_toml(&file.manifest_toml).unwrap();
    let db = common::TestDb::new(backend).await;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let manifest_path = std::env::temp_dir().join(format!(
        "tessera_vectors_http_{}_{nanos}_{}.toml",
        std::process::id(),
        file.name.trim_end_matches(".json")
    ));
    std::fs::write(&manifest_path, &file.manifest_toml).unwrap();
    let server = TestServer::start_with_manifest(&db, &manifest_path).await;

    let facts = &file.vectors.facts;
    let loaded = load(&server, &manifest, facts).await;
    if !loaded.group_ids_kept {
        tally.notes.push(format!(
            "{}: POST …/groups did not keep the vector's group ids; mapped {:?}",
            file.name, loaded.groups
        ));
    }
    tally.notes.extend(
        loaded
            .status_notes
            .iter()
            .map(|note| format!("{}: {note}", file.name)),
    );

    for case in &file.vectors.cases {
        *tally.by_query.entry(query_name(&case.query)).or_default() += 1;
        let actual = match &case.under {
            None => {
                tally.decision_endpoints += 1;
                answer(&server, &facts.org, case).await
            }
            Some(under) => {
                tally.snapshot_export += 1;
                answer_from_snapshot(&server, &facts.org, case, under).await
            }
        };
        let actual = actual.map(|mut actual| {
            common::fact_cap_ids(&mut actual, &loaded.cap_ids);
            actual
        });
        match actual {
            Ok(actual) if matches(&case.query, &case.expect, &actual) => {}
            Ok(actual) => tally.failures.push(format!(
                "{}: {}\n  query    {}\n  expected {}\n  actual   {actual}",
                file.name,
                case.description,
                serde_json::to_string(&case.query).unwrap(),
                case.expect
            )),
            Err(message) => tally.failures.push(format!(
                "{}: {}\n  query    {}\n  error    {message}",
                file.name,
                case.description,
                serde_json::to_string(&case.query).unwrap()
            )),
        }
    }
    println!(
        "{}: {} cases over HTTP",
        file.name,
        file.vectors.cases.len()
    );

    server.stop().await;
    std::fs::remove_file(&manifest_path).ok();
    drop(db);
}

both_backends!(
    every_vector_file_answers_the_same_over_http,
    |db: &common::TestDb| {
        // One database and one server per file (files reuse org ids and
        // their manifests differ); `db` only names the backend.
        let backend = db.backend;
        async move {
            let mut tally = Tally::default();
            let mut total = 0;
            for path in vector_files().unwrap() {
                let file = load_file(&path).unwrap();
                total += file.vectors.cases.len();
                run_file(backend, &file, &mut tally).await;
            }
            let run = tally.decision_endpoints + tally.snapshot_export;
            println!(
                "{backend:?}: {total} cases, {run} run over HTTP: {} through the decision \
                 endpoints, {} (`under`) through GET …/snapshot?under= opened with the \
                 core; none skipped",
                tally.decision_endpoints, tally.snapshot_export
            );
            println!("  by query: {:?}", tally.by_query);
            for note in &tally.notes {
                println!("  note: {note}");
            }
            for failure in &tally.failures {
                println!("FAILED {failure}");
            }
            assert_eq!(run, total, "every case runs over HTTP");
            assert!(
                tally.decision_endpoints * 10 >= total * 9,
                "only {} of {total} cases ran through the decision endpoints",
                tally.decision_endpoints
            );
            assert!(
                tally.failures.is_empty(),
                "{} of {} cases answered differently over HTTP:\n{}",
                tally.failures.len(),
                run,
                tally.failures.join("\n")
            );
        }
    }
);
