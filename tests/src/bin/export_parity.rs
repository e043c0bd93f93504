//! Writes random models' snapshots with the native core's answers to the
//! differential queries ([`tessera_tests::parity_queries`]), for runtimes
//! with no compiler of their own to compare against (the Python SDK):
//!
//! ```text
//! cargo run -p tessera-tests --bin export-parity -- tests/out/parity.json
//! ```
//!
//! The output is `{"jwks": …, "now": 10, "models": [{"seed", "snapshot":
//! "tss1.…", "header": {…}, "cases": [{"query", "expect"}]}]}`.

use std::process::ExitCode;

use serde_json::{Value, json};
use tessera_core::testing::model_from_seed;
use tessera_core::{Manifest, Snapshot, compile, to_text};
use tessera_tests::{parity_queries, parity_request, sign_request, vector_jwks};

/// Models exported, and random checks per model (the wasmtime runner's).
const MODELS: u64 = 200;
const CHECKS_PER_MODEL: usize = 50;

fn main() -> ExitCode {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: export-parity OUT.json");
        return ExitCode::FAILURE;
    };
    let written = export().and_then(|document| {
        if let Some(dir) = std::path::Path::new(&out).parent() {
            std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
        }
        std::fs::write(&out, document).map_err(|err| format!("{out}: {err}"))
    });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn export() -> Result<String, String> {
    let mut models = Vec::new();
    for seed in 0..MODELS {
        let model = model_from_seed(seed);
        let manifest = Manifest::from_toml(&model.manifest_toml).map_err(|err| err.to_string())?;
        let request = parity_request(&model);
        let payload = compile(&manifest, &model.facts, &request).map_err(|err| err.to_string())?;
        let native = Snapshot::new(payload).map_err(|err| err.to_string())?;
        let envelope = sign_request(&manifest, &model.facts, &request)?;
        let cases: Vec<Value> = parity_queries(&model, &manifest, CHECKS_PER_MODEL)
            .into_iter()
            .map(|query| json!({ "expect": native.answer(&query), "query": query }))
            .collect();
        let header: Value =
            serde_json::from_str(&native.header_json().map_err(|err| err.to_string())?)
                .map_err(|err| err.to_string())?;
        models.push(json!({
            "seed": seed,
            "snapshot": to_text(&envelope),
            "header": header,
            "cases": cases,
        }));
    }
    let jwks: Value = serde_json::from_str(&vector_jwks()).map_err(|err| err.to_string())?;
    Ok(json!({ "jwks": jwks, "now": 10, "models": models }).to_string())
}
