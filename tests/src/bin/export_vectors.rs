//! Writes every vector case with its signed snapshot, for the JS runners
//! (`tests/node/*.test.mjs`), which have no compiler of their own:
//!
//! ```text
//! cargo run -p tessera-tests --bin export-vectors -- tests/out/vectors.json
//! ```
//!
//! The output is `{"jwks": …, "now": 1000, "files": [{"name", "cases":
//! [{"description", "snapshot": "tss1.…", "query", "expect"}]}]}`.

use std::collections::HashMap;
use std::process::ExitCode;

use serde_json::{Value, json};
use tessera_core::{Manifest, to_text};
use tessera_tests::{
    EXPIRES_AT, ISSUED_AT, load_file, sign_request, vector_files, vector_jwks, vector_request,
};

fn main() -> ExitCode {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: export-vectors OUT.json");
        return ExitCode::FAILURE;
    };
    let parent = std::path::Path::new(&out)
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty());
    if let Some(dir) = parent
        && let Err(err) = std::fs::create_dir_all(dir)
    {
        eprintln!("error: {}: {err}", dir.display());
        return ExitCode::FAILURE;
    }
    match export() {
        Ok(document) => match std::fs::write(&out, document) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {out}: {err}");
                ExitCode::FAILURE
            }
        },
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn export() -> Result<String, String> {
    let mut files = Vec::new();
    for path in vector_files().map_err(|err| err.to_string())? {
        let file = load_file(&path).map_err(|err| err.to_string())?;
        let manifest = Manifest::from_toml(&file.manifest_toml)
            .map_err(|err| format!("{}: {err}", file.name))?;
        let mut snapshots: HashMap<String, String> = HashMap::new();
        let mut cases = Vec::new();
        for case in &file.vectors.cases {
            let cache_key = format!(
                "{}|{:?}|{:?}",
                case.principal, case.token_scopes, case.under
            );
            if !snapshots.contains_key(&cache_key) {
                let envelope = sign_request(&manifest, &file.vectors.facts, &vector_request(case))
                    .map_err(|err| format!("{}: {}: {err}", file.name, case.description))?;
                snapshots.insert(cache_key.clone(), to_text(&envelope));
            }
            cases.push(json!({
                "description": case.description,
                "snapshot": snapshots.get(&cache_key),
                "query": case.query,
                "expect": case.expect,
            }));
        }
        files.push(json!({ "name": file.name, "cases": Value::Array(cases) }));
    }
    let document = json!({
        "jwks": serde_json::from_str::<Value>(&vector_jwks()).map_err(|err| err.to_string())?,
        "now": ISSUED_AT,
        "expires_at": EXPIRES_AT,
        "files": files,
    });
    serde_json::to_string(&document).map_err(|err| err.to_string())
}
