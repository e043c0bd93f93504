//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!`
//! embeds the migrations directories at compile time. And embeds the
//! operator console when `./scripts/build-console` has built it
//! (`console/dist/`): the `console_built` cfg; without it the host serves
//! a page saying how to build it (docs/console.md §10.2).

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    println!("cargo:rerun-if-changed=../console");
    println!("cargo::rustc-check-cfg=cfg(console_built)");
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../console/dist");
    if ["app.js", "tessera_wasm_bg.wasm"]
        .iter()
        .all(|file| dist.join(file).is_file())
    {
        println!("cargo:rustc-cfg=console_built");
    }
}
