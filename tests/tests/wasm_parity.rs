//! The core compiled to WebAssembly (the raw-ABI module `tests/abi`, run by
//! wasmtime) must answer exactly like the native core: every conformance
//! vector, and a differential run over random models from the core's
//! `testing` generators.
//!
//! The module is built by `./scripts/test` before the tests run:
//! `cargo build -p tessera-abi --target wasm32-unknown-unknown --release`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test setup fails loudly"
)]

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;
use tessera_core::ffi::Query;
use tessera_core::testing::{model_from_seed, queries_from_seed};
use tessera_core::{CheckRequest, CompileRequest, Manifest, compile};
use tessera_tests::{
    Case, ISSUED_AT, KID, LoadedFile, Runtime, load_file, repo_root, run_file, sign_request,
    vector_files, vector_jwks, vector_request,
};
use wasmtime::{Engine, Instance, Memory, Module, Store, TypedFunc};

/// The ABI module, instantiated once per test.
struct Abi {
    store: Store<()>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    free: TypedFunc<(u32, u32), ()>,
    open: TypedFunc<(u32, u32, u32, u32, u64), u32>,
    answer: TypedFunc<(u32, u32, u32), u64>,
    last_error: TypedFunc<(), u64>,
}

fn module_path() -> PathBuf {
    std::env::var_os("TESSERA_ABI_WASM").map_or_else(
        || repo_root().join("target/wasm32-unknown-unknown/release/tessera_abi.wasm"),
        PathBuf::from,
    )
}

impl Abi {
    fn load() -> Abi {
        let path = module_path();
        assert!(
            path.exists(),
            "{} is missing: build it with `cargo build -p tessera-abi --target wasm32-unknown-unknown --release` (./scripts/test does)",
            path.display()
        );
        let engine = Engine::default();
        let module = Module::from_file(&engine, &path).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        Abi {
            memory: instance.get_memory(&mut store, "memory").unwrap(),
            alloc: instance
                .get_typed_func(&mut store, "tessera_alloc")
                .unwrap(),
            free: instance.get_typed_func(&mut store, "tessera_free").unwrap(),
            open: instance.get_typed_func(&mut store, "tessera_open").unwrap(),
            answer: instance
                .get_typed_func(&mut store, "tessera_answer")
                .unwrap(),
            last_error: instance
                .get_typed_func(&mut store, "tessera_last_error")
                .unwrap(),
            store,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> (u32, u32) {
        let len = u32::try_from(bytes.len()).unwrap();
        let ptr = self.alloc.call(&mut self.store, len).unwrap();
        self.memory
            .write(&mut self.store, ptr as usize, bytes)
            .unwrap();
        (ptr, len)
    }

    fn take(&mut self, packed: u64) -> Vec<u8> {
        let (ptr, len) = ((packed >> 32) as u32, packed as u32);
        let mut bytes = vec![0; len as usize];
        self.memory
            .read(&self.store, ptr as usize, &mut bytes)
            .unwrap();
        self.free.call(&mut self.store, (ptr, len)).unwrap();
        bytes
    }

    fn open(&mut self, jwks: &str, envelope: &[u8], now: u64) -> Result<u32, String> {
        let (jwks_ptr, jwks_len) = self.put(jwks.as_bytes());
        let (env_ptr, env_len) = self.put(envelope);
        let handle = self
            .open
            .call(&mut self.store, (jwks_ptr, jwks_len, env_ptr, env_len, now))
            .unwrap();
        if handle == 0 {
            let packed = self.last_error.call(&mut self.store, ()).unwrap();
            return Err(String::from_utf8_lossy(&self.take(packed)).into_owned());
        }
        Ok(handle)
    }

    fn answer(&mut self, handle: u32, query: &Query) -> Value {
        let json = serde_json::to_vec(query).unwrap();
        let (ptr, len) = self.put(&json);
        let packed = self
            .answer
            .call(&mut self.store, (handle, ptr, len))
            .unwrap();
        serde_json::from_slice(&self.take(packed)).unwrap()
    }
}

/// The vectors' runtime: snapshots compiled natively, opened and queried in wasm.
struct WasmRuntime {
    abi: Abi,
    handles: HashMap<String, u32>,
}

impl Runtime for WasmRuntime {
    fn answer(&mut self, file: &LoadedFile, case: &Case) -> Result<Value, String> {
        let key = format!(
            "{}|{}|{:?}|{:?}",
            file.name, case.principal, case.token_scopes, case.under
        );
        let handle = match self.handles.get(&key) {
            Some(handle) => *handle,
            None => {
                let manifest =
                    Manifest::from_toml(&file.manifest_toml).map_err(|err| err.to_string())?;
                let envelope = sign_request(&manifest, &file.vectors.facts, &vector_request(case))?;
                let handle = self.abi.open(&vector_jwks(), &envelope, ISSUED_AT)?;
                self.handles.insert(key, handle);
                handle
            }
        };
        Ok(self.abi.answer(handle, &case.query))
    }
}

#[test]
fn every_vector_file_passes_in_wasmtime() {
    let mut runtime = WasmRuntime {
        abi: Abi::load(),
        handles: HashMap::new(),
    };
    let mut total = 0;
    for path in vector_files().unwrap() {
        let file = load_file(&path).unwrap();
        let count = run_file(&mut runtime, &file).unwrap_or_else(|err| panic!("{err}"));
        println!("wasm {}: {count} queries", file.name);
        total += count;
    }
    println!("wasm total: {total} queries");
    assert!(total >= 150);
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

#[test]
fn random_models_answer_the_same_natively_and_in_wasmtime() {
    const MODELS: u64 = 200;
    const CHECKS_PER_MODEL: usize = 50;
    let mut abi = Abi::load();
    let (mut pairs, mut mismatches) = (0usize, Vec::new());
    for seed in 0..MODELS {
        let model = model_from_seed(seed);
        let manifest = Manifest::from_toml(&model.manifest_toml).unwrap();
        let request = CompileRequest {
            principal: &model.principal,
            token_scopes: model.token_scopes.as_deref(),
            under: model.under.as_deref(),
            issued_at: 10,
            expires_at: 20,
            kid: KID,
            provenance: seed % 2 == 0,
            hash_seed: 0,
        };
        let native =
            tessera_core::Snapshot::new(compile(&manifest, &model.facts, &request).unwrap())
                .unwrap();
        let envelope = sign_request(&manifest, &model.facts, &request).unwrap();
        let handle = abi.open(&vector_jwks(), &envelope, 10).unwrap();
        let checks = queries_from_seed(&model, seed ^ 0xabcd, CHECKS_PER_MODEL);
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
        let queries = checks
            .into_iter()
            .map(|check| {
                Query::Check(CheckRequest {
                    permission: check.permission,
                    path: check.path,
                    owner: check.owner,
                })
            })
            .chain(extra_queries(&keys, &paths));
        for query in queries {
            pairs += 1;
            let (here, there) = (native.answer(&query), abi.answer(handle, &query));
            if here != there {
                mismatches.push(format!(
                    "seed {seed}: {query:?}: native {here} wasm {there}"
                ));
            }
        }
    }
    println!(
        "wasm differential: {pairs} (snapshot, query) pairs, {} mismatches",
        mismatches.len()
    );
    assert!(pairs >= 10_000, "only {pairs} pairs");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
