//! The interim "main job": compile, sign, verify and query snapshots for the
//! fleet example, and print what each principal may do.
//!
//! ```text
//! cargo run -p tessera-core --example decide -- examples/fleet/manifest.toml examples/fleet/facts.json
//! ```

#![allow(clippy::print_stdout, reason = "a command-line example prints")]

use std::process::ExitCode;

use tessera_core::{
    CompileRequest, Expect, Facts, KeySet, Manifest, SigningKey, Verifier, compile,
};

const CHECKS: [(&str, &[&str]); 4] = [
    ("miner:reboot", &["site:1", "rack:1", "miner:11"]),
    ("miner:reboot", &["site:2", "rack:2", "miner:21"]),
    ("miner:blink_led", &["site:1", "rack:1", "miner:11"]),
    ("user:manage", &[]),
];

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let manifest_path = args
        .next()
        .unwrap_or_else(|| "examples/fleet/manifest.toml".to_owned());
    let facts_path = args
        .next()
        .unwrap_or_else(|| "examples/fleet/facts.json".to_owned());
    match run(&manifest_path, &facts_path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(manifest_path: &str, facts_path: &str) -> Result<(), String> {
    let read = |path: &str| std::fs::read_to_string(path).map_err(|err| format!("{path}: {err}"));
    let manifest = Manifest::from_toml(&read(manifest_path)?).map_err(|err| err.to_string())?;
    let facts: Facts =
        serde_json::from_str(&read(facts_path)?).map_err(|err| format!("{facts_path}: {err}"))?;
    // A fixed demo key: the core has no randomness, and this is not a real key.
    let key = SigningKey::from_seed("demo", &[9; 32]);
    let verifier =
        Verifier::new(KeySet::from_jwks_keys(&[key.jwk()]).map_err(|err| err.to_string())?);
    let principals = facts
        .users
        .iter()
        .map(|user| user.id.as_str())
        .chain(["anonymous"]);
    for principal in principals {
        let request = CompileRequest {
            principal,
            token_scopes: None,
            under: None,
            issued_at: 0,
            expires_at: 300,
            kid: "demo",
            provenance: false,
            hash_seed: 0,
        };
        let payload = compile(&manifest, &facts, &request).map_err(|err| err.to_string())?;
        let envelope = key.sign(&payload).map_err(|err| err.to_string())?;
        let snapshot = verifier
            .open(&envelope, 0, Expect::default())
            .map_err(|err| err.to_string())?;
        println!("{principal} ({} byte snapshot)", envelope.len());
        println!("  nav:    {:?}", snapshot.nav());
        println!("  claims: {:?}", snapshot.claims());
        for (permission, path) in CHECKS {
            let decision = snapshot.check(permission, path, None);
            let json = serde_json::to_string(&decision).map_err(|err| err.to_string())?;
            println!("  check {permission} at [{}] -> {json}", path.join(", "));
        }
    }
    Ok(())
}
