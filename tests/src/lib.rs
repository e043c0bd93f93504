//! Conformance vectors and the runners that hold every runtime to them.
//!
//! A vector file (`tests/vectors/*.json`, format in `tests/vectors/README.md`)
//! is a manifest, one org's facts and a list of cases. Every runtime
//! implements [`Runtime`]; [`run_file`] asks it every case and compares.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use tessera_core::ffi::Query;
use tessera_core::{
    CheckRequest, CompileRequest, Expect, Facts, Manifest, NodeKey, SigningKey, Snapshot, Verifier,
    compile,
};
use thiserror::Error;

/// One vector file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    /// What the scenario shows.
    pub description: String,
    /// A manifest path relative to the repository root.
    #[serde(default)]
    pub manifest: Option<String>,
    /// An inline manifest.
    #[serde(default)]
    pub manifest_toml: Option<String>,
    /// The org's facts.
    pub facts: Facts,
    /// The queries.
    pub cases: Vec<Case>,
}

/// One query with its expected answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case shows.
    pub description: String,
    /// A user id or `anonymous`.
    pub principal: String,
    /// Token scopes; `None`: no limit.
    #[serde(default)]
    pub token_scopes: Option<Vec<String>>,
    /// Subtree roots; `None`: whole org.
    #[serde(default)]
    pub under: Option<Vec<NodeKey>>,
    /// The query.
    pub query: Query,
    /// The expected answer, in the core's JSON shapes.
    pub expect: Value,
}

/// Why a vector run failed.
#[derive(Debug, Error)]
pub enum VectorError {
    /// The file could not be read or parsed.
    #[error("{file}: {message}")]
    Load {
        /// The file.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// The runtime could not answer.
    #[error("{file}: case `{case}`: runtime error: {message}")]
    Runtime {
        /// The file.
        file: String,
        /// The case description.
        case: String,
        /// What went wrong.
        message: String,
    },
    /// The runtime answered differently.
    #[error("{file}: case `{case}`:\n  expected {expected}\n  actual   {actual}")]
    Mismatch {
        /// The file.
        file: String,
        /// The case description.
        case: String,
        /// The expected answer.
        expected: Value,
        /// The actual answer.
        actual: Value,
    },
}

/// A runtime the vectors can be run on.
pub trait Runtime {
    /// Answers one case of a file as JSON in the core's shapes.
    fn answer(&mut self, file: &LoadedFile, case: &Case) -> Result<Value, String>;
}

/// A vector file with its manifest loaded.
#[derive(Debug)]
pub struct LoadedFile {
    /// The file name.
    pub name: String,
    /// The parsed file.
    pub vectors: VectorFile,
    /// The manifest's TOML text.
    pub manifest_toml: String,
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// Every vector file, sorted by name.
pub fn vector_files() -> Result<Vec<PathBuf>, VectorError> {
    let dir = repo_root().join("tests/vectors");
    let load = |message: String| VectorError::Load {
        file: dir.display().to_string(),
        message,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|err| load(err.to_string()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Reads a vector file and its manifest.
pub fn load_file(path: &Path) -> Result<LoadedFile, VectorError> {
    let name = path
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    let load = |message: String| VectorError::Load {
        file: name.clone(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|err| load(err.to_string()))?;
    let vectors: VectorFile = serde_json::from_str(&text).map_err(|err| load(err.to_string()))?;
    let manifest_toml = match (&vectors.manifest, &vectors.manifest_toml) {
        (Some(file), None) => std::fs::read_to_string(repo_root().join(file))
            .map_err(|err| load(format!("manifest `{file}`: {err}")))?,
        (None, Some(inline)) => inline.clone(),
        _ => {
            return Err(load(
                "give exactly one of `manifest` and `manifest_toml`".to_owned(),
            ));
        }
    };
    Ok(LoadedFile {
        name,
        vectors,
        manifest_toml,
    })
}

/// Runs every case of a file; returns the number of cases.
pub fn run_file(runtime: &mut dyn Runtime, file: &LoadedFile) -> Result<usize, VectorError> {
    for case in &file.vectors.cases {
        let actual = runtime
            .answer(file, case)
            .map_err(|message| VectorError::Runtime {
                file: file.name.clone(),
                case: case.description.clone(),
                message,
            })?;
        if !matches(&case.query, &case.expect, &actual) {
            return Err(VectorError::Mismatch {
                file: file.name.clone(),
                case: case.description.clone(),
                expected: case.expect.clone(),
                actual,
            });
        }
    }
    Ok(file.vectors.cases.len())
}

/// Exact equality, except `explain`, where only the expected fields count:
/// each must be in the answer with that value (a missing field is a
/// mismatch, not `null`).
pub fn matches(query: &Query, expected: &Value, actual: &Value) -> bool {
    match (query, expected) {
        (Query::Explain(_), Value::Object(fields)) => fields
            .iter()
            .all(|(key, value)| actual.get(key) == Some(value)),
        _ => expected == actual,
    }
}

/// The fixed times and key id every runtime compiles vectors with.
pub const ISSUED_AT: u64 = 1000;
/// See [`ISSUED_AT`].
pub const EXPIRES_AT: u64 = 1300;
/// See [`ISSUED_AT`].
pub const KID: &str = "vectors";
/// The test signing key's seed (test-only; never a real key).
pub const SEED: [u8; 32] = [7; 32];

/// The compile request every runtime uses for a case.
pub fn vector_request(case: &Case) -> CompileRequest<'_> {
    CompileRequest {
        principal: &case.principal,
        token_scopes: case.token_scopes.as_deref(),
        under: case.under.as_deref(),
        issued_at: ISSUED_AT,
        expires_at: EXPIRES_AT,
        kid: KID,
        provenance: true,
        hash_seed: 0,
    }
}

/// The vectors' (test-only) signing key.
pub fn vector_key() -> SigningKey {
    SigningKey::from_seed(KID, &SEED)
}

/// The JWKS of [`vector_key`].
pub fn vector_jwks() -> String {
    let jwk = serde_json::to_string(&vector_key().jwk()).unwrap_or_default();
    format!("{{\"keys\":[{jwk}]}}")
}

/// Compiles and signs with [`vector_key`]: the envelope bytes.
pub fn sign_request(
    manifest: &Manifest,
    facts: &Facts,
    request: &CompileRequest<'_>,
) -> Result<Vec<u8>, String> {
    let payload = compile(manifest, facts, request).map_err(|err| err.to_string())?;
    vector_key().sign(&payload).map_err(|err| err.to_string())
}

/// Compiles, signs and opens the snapshot a case needs.
pub fn open_snapshot(manifest: &Manifest, facts: &Facts, case: &Case) -> Result<Snapshot, String> {
    let envelope = sign_request(manifest, facts, &vector_request(case))?;
    let verifier = Verifier::from_jwks(&vector_jwks()).map_err(|err| err.to_string())?;
    verifier
        .open(&envelope, ISSUED_AT, Expect::default())
        .map_err(|err| err.to_string())
}

/// The native runtime: tessera-core itself.
#[derive(Debug, Default)]
pub struct CoreRuntime {
    manifests: HashMap<String, Manifest>,
    snapshots: HashMap<String, Snapshot>,
}

impl Runtime for CoreRuntime {
    fn answer(&mut self, file: &LoadedFile, case: &Case) -> Result<Value, String> {
        if !self.manifests.contains_key(&file.name) {
            let manifest =
                Manifest::from_toml(&file.manifest_toml).map_err(|err| err.to_string())?;
            self.manifests.insert(file.name.clone(), manifest);
        }
        let manifest = self.manifests.get(&file.name).ok_or("manifest missing")?;
        let key = format!(
            "{}|{}|{:?}|{:?}",
            file.name, case.principal, case.token_scopes, case.under
        );
        if !self.snapshots.contains_key(&key) {
            let snapshot = open_snapshot(manifest, &file.vectors.facts, case)?;
            self.snapshots.insert(key.clone(), snapshot);
        }
        let snapshot = self.snapshots.get(&key).ok_or("snapshot missing")?;
        Ok(snapshot.answer(&case.query))
    }
}

/// How a random model is compiled in the differential runs: at time 10,
/// for 10 seconds, with provenance for even seeds.
pub fn parity_request(model: &tessera_core::testing::Model) -> CompileRequest<'_> {
    CompileRequest {
        principal: &model.principal,
        token_scopes: model.token_scopes.as_deref(),
        under: model.under.as_deref(),
        issued_at: 10,
        expires_at: 20,
        kid: KID,
        provenance: model.seed.is_multiple_of(2),
        hash_seed: 0,
    }
}

/// What a random model is asked in the differential runs (wasmtime,
/// Python): `checks` random checks from the core's `testing` generators,
/// then `nav`, `claims`, `can_anywhere` and `filter_plan` for every key,
/// `effective` at five of the checks' paths, and a few routes.
pub fn parity_queries(
    model: &tessera_core::testing::Model,
    manifest: &Manifest,
    checks: usize,
) -> Vec<Query> {
    let checks = tessera_core::testing::queries_from_seed(model, model.seed ^ 0xabcd, checks);
    let paths: Vec<Vec<String>> = checks
        .iter()
        .map(|check| check.path.clone())
        .take(5)
        .collect();
    let keys: Vec<String> = manifest
        .catalog
        .entries()
        .iter()
        .map(|e| e.key.clone())
        .collect();
    checks
        .into_iter()
        .map(|check| {
            Query::Check(CheckRequest {
                permission: check.permission,
                path: check.path,
                owner: check.owner,
            })
        })
        .chain(extra_queries(&keys, &paths))
        .collect()
}

/// The queries a random model is asked, beyond its random checks.
fn extra_queries(keys: &[String], paths: &[Vec<String>]) -> Vec<Query> {
    let mut queries = vec![Query::Nav {}, Query::Claims {}];
    for key in keys {
        queries.push(Query::CanAnywhere {
            permission: key.clone(),
        });
        queries.push(Query::FilterPlan {
            permission: key.clone(),
        });
    }
    for path in paths {
        queries.push(Query::Effective {
            path: path.clone(),
            owner: None,
        });
    }
    for route in [
        "/docs",
        "/areas/0/zones/1",
        "/areas/1/zones/0/",
        "/admin",
        "/nope",
        "/areas/a%20b/zones/1",
    ] {
        queries.push(Query::Guard {
            route: route.to_owned(),
        });
    }
    queries
}
