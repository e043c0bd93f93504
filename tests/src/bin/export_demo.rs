//! Signs the fleet example's snapshots for the browser demo
//! (`examples/fleet-web/`): one per demo user, valid for an hour from now,
//! plus the JWKS the page verifies them with.
//!
//! ```text
//! cargo run -p tessera-tests --bin export-demo -- examples/fleet-web/data
//! ```

use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use tessera_core::{CompileRequest, Facts, Manifest, SigningKey, compile, to_text};
use tessera_tests::repo_root;

/// The demo users: a superuser, a field tech scoped to site 1, and a
/// viewer from whom one miner is hidden (see `examples/fleet/facts.json`).
const USERS: [&str; 3] = ["root", "carol", "vic"];

fn main() -> ExitCode {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: export-demo OUT_DIR");
        return ExitCode::FAILURE;
    };
    match export(Path::new(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn export(out: &Path) -> Result<(), String> {
    let root = repo_root();
    let read = |path: &str| {
        std::fs::read_to_string(root.join(path)).map_err(|err| format!("{path}: {err}"))
    };
    let manifest = Manifest::from_toml(&read("examples/fleet/manifest.toml")?)
        .map_err(|err| err.to_string())?;
    let facts: Facts =
        serde_json::from_str(&read("examples/fleet/facts.json")?).map_err(|err| err.to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|err| err.to_string())?
        .as_secs();
    // A fixed demo key: these snapshots grant nothing outside the demo.
    let key = SigningKey::from_seed("demo", &[9; 32]);
    std::fs::create_dir_all(out).map_err(|err| format!("{}: {err}", out.display()))?;
    let write = |name: &str, text: String| {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|err| format!("{}: {err}", path.display()))
    };
    write(
        "jwks.json",
        format!(
            "{{\"keys\":[{}]}}\n",
            serde_json::to_string(&key.jwk()).map_err(|err| err.to_string())?
        ),
    )?;
    for user in USERS {
        let request = CompileRequest {
            principal: user,
            token_scopes: None,
            under: None,
            issued_at: now,
            expires_at: now + 3600,
            kid: "demo",
            provenance: false,
            hash_seed: 0,
        };
        let payload =
            compile(&manifest, &facts, &request).map_err(|err| format!("{user}: {err}"))?;
        let envelope = key.sign(&payload).map_err(|err| err.to_string())?;
        write(&format!("{user}.txt"), to_text(&envelope))?;
    }
    Ok(())
}
