//! The core compiled to WebAssembly (the portable policy module
//! `wasm/abi`, docs/abi.md §11, run by wasmtime) must answer exactly like
//! the native core: every conformance vector, a differential run over
//! random models from the core's `testing` generators (the JSON answers
//! and the fast `tessera_check`), and the ABI's own contract (version,
//! refusals and their codes, expectations, the header, handle reuse).
//!
//! The module is built by `./scripts/test` before the tests run:
//! `./scripts/build-abi` (wasm/abi/dist/tessera_abi.wasm, the module that ships).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test setup fails loudly"
)]

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use tessera_core::ffi::{Query, effect_code};
use tessera_core::testing::model_from_seed;
use tessera_core::{CompileRequest, Manifest, compile, to_text};
use tessera_tests::{
    Case, ISSUED_AT, KID, LoadedFile, Runtime, load_file, parity_queries, parity_request,
    repo_root, run_file, sign_request, vector_files, vector_jwks, vector_request,
};
use wasmtime::{Engine, Instance, Memory, Module, Store, TypedFunc};

/// `tessera_open`'s parameters: key set, form, snapshot, now, org, principal.
type OpenArgs = (u32, u32, u32, u32, u64, u32, u32, u32, u32);
/// `tessera_check`'s: snapshot, permission, key, path, owner.
type CheckArgs = (u32, u32, u32, u32, u32, u32, u32, u32);
/// An open the ABI refuses: form, bytes, now, expectations, code.
type Refusal<'a> = (u32, Vec<u8>, u64, (&'a str, &'a str), &'a str);

/// The ABI module, instantiated once per test.
struct Abi {
    store: Store<()>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    free: TypedFunc<(u32, u32), ()>,
    verifier: TypedFunc<(u32, u32), u32>,
    open: TypedFunc<OpenArgs, u32>,
    close: TypedFunc<u32, ()>,
    info: TypedFunc<u32, u64>,
    answer: TypedFunc<(u32, u32, u32), u64>,
    permission: TypedFunc<(u32, u32, u32), u32>,
    check: TypedFunc<CheckArgs, i32>,
    last_error: TypedFunc<(), u64>,
    version: TypedFunc<(), u32>,
}

fn module_path() -> PathBuf {
    std::env::var_os("TESSERA_ABI_WASM").map_or_else(
        || repo_root().join("wasm/abi/dist/tessera_abi.wasm"),
        PathBuf::from,
    )
}

impl Abi {
    fn load() -> Abi {
        let path = module_path();
        assert!(
            path.exists(),
            "{} is missing: build it with ./scripts/build-abi (./scripts/test does)",
            path.display()
        );
        let engine = Engine::default();
        let module = Module::from_file(&engine, &path).unwrap();
        assert_eq!(module.imports().count(), 0, "the module imports nothing");
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        macro_rules! export {
            ($name:literal) => {
                instance.get_typed_func(&mut store, $name).unwrap()
            };
        }
        Abi {
            memory: instance.get_memory(&mut store, "memory").unwrap(),
            alloc: export!("tessera_alloc"),
            free: export!("tessera_free"),
            verifier: export!("tessera_verifier"),
            open: export!("tessera_open"),
            close: export!("tessera_close"),
            info: export!("tessera_info"),
            answer: export!("tessera_answer"),
            permission: export!("tessera_permission"),
            check: export!("tessera_check"),
            last_error: export!("tessera_last_error"),
            version: export!("tessera_abi_version"),
            store,
        }
    }

    /// Writes `bytes` into a buffer of the module's: the host owns it.
    fn put(&mut self, bytes: &[u8]) -> (u32, u32) {
        let len = u32::try_from(bytes.len()).unwrap();
        let ptr = self.alloc.call(&mut self.store, len).unwrap();
        self.memory
            .write(&mut self.store, ptr as usize, bytes)
            .unwrap();
        (ptr, len)
    }

    fn release(&mut self, (ptr, len): (u32, u32)) {
        self.free.call(&mut self.store, (ptr, len)).unwrap();
    }

    /// Reads an answer and frees it.
    fn take(&mut self, packed: u64) -> Vec<u8> {
        let (ptr, len) = ((packed >> 32) as u32, packed as u32);
        let mut bytes = vec![0; len as usize];
        self.memory
            .read(&self.store, ptr as usize, &mut bytes)
            .unwrap();
        self.release((ptr, len));
        bytes
    }

    fn take_json(&mut self, packed: u64) -> Value {
        serde_json::from_slice(&self.take(packed)).unwrap()
    }

    /// The last failure's code.
    fn error_code(&mut self) -> String {
        let packed = self.last_error.call(&mut self.store, ()).unwrap();
        let error = self.take_json(packed);
        error["code"].as_str().unwrap().to_owned()
    }

    fn verifier(&mut self, jwks: &str) -> Result<u32, String> {
        let buffer = self.put(jwks.as_bytes());
        let handle = self.verifier.call(&mut self.store, buffer).unwrap();
        self.release(buffer);
        if handle == 0 {
            return Err(self.error_code());
        }
        Ok(handle)
    }

    /// Opens `snapshot` (`form` 0 binary, 1 text), expecting `org` and
    /// `principal` when not empty; the error's code when refused.
    fn open_as(
        &mut self,
        verifier: u32,
        form: u32,
        snapshot: &[u8],
        now: u64,
        (org, principal): (&str, &str),
    ) -> Result<u32, String> {
        let bytes = self.put(snapshot);
        let org = self.put(org.as_bytes());
        let principal = self.put(principal.as_bytes());
        let args = (
            verifier,
            form,
            bytes.0,
            bytes.1,
            now,
            org.0,
            org.1,
            principal.0,
            principal.1,
        );
        let handle = self.open.call(&mut self.store, args).unwrap();
        for buffer in [bytes, org, principal] {
            self.release(buffer);
        }
        if handle == 0 {
            return Err(self.error_code());
        }
        Ok(handle)
    }

    fn open(&mut self, verifier: u32, envelope: &[u8], now: u64) -> Result<u32, String> {
        self.open_as(verifier, 0, envelope, now, ("", ""))
    }

    fn answer(&mut self, handle: u32, query: &Query) -> Value {
        let json = serde_json::to_vec(query).unwrap();
        let buffer = self.put(&json);
        let packed = self
            .answer
            .call(&mut self.store, (handle, buffer.0, buffer.1))
            .unwrap();
        self.release(buffer);
        self.take_json(packed)
    }

    fn info(&mut self, handle: u32) -> Value {
        let packed = self.info.call(&mut self.store, handle).unwrap();
        self.take_json(packed)
    }

    fn permission(&mut self, handle: u32, key: &str) -> u32 {
        let buffer = self.put(key.as_bytes());
        let permission = self
            .permission
            .call(&mut self.store, (handle, buffer.0, buffer.1))
            .unwrap();
        self.release(buffer);
        permission
    }

    /// The fast check: by handle when `permission` is not 0, else by key.
    fn check(
        &mut self,
        handle: u32,
        permission: u32,
        key: &str,
        path: &[String],
        owner: Option<&str>,
    ) -> i32 {
        let key = self.put(key.as_bytes());
        let path = self.put(path.join(",").as_bytes());
        let owner = self.put(owner.unwrap_or_default().as_bytes());
        let args = (
            handle, permission, key.0, key.1, path.0, path.1, owner.0, owner.1,
        );
        let decision = self.check.call(&mut self.store, args).unwrap();
        for buffer in [key, path, owner] {
            self.release(buffer);
        }
        decision
    }
}

/// The vectors' runtime: snapshots compiled natively, opened and queried in wasm.
struct WasmRuntime {
    abi: Abi,
    verifier: u32,
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
                let handle = self.abi.open(self.verifier, &envelope, ISSUED_AT)?;
                self.handles.insert(key, handle);
                handle
            }
        };
        Ok(self.abi.answer(handle, &case.query))
    }
}

#[test]
fn every_vector_file_passes_in_wasmtime() {
    let mut abi = Abi::load();
    let verifier = abi.verifier(&vector_jwks()).unwrap();
    let mut runtime = WasmRuntime {
        abi,
        verifier,
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

#[test]
fn random_models_answer_the_same_natively_and_in_wasmtime() {
    const MODELS: u64 = 200;
    const CHECKS_PER_MODEL: usize = 50;
    let mut abi = Abi::load();
    let verifier = abi.verifier(&vector_jwks()).unwrap();
    let (mut pairs, mut mismatches) = (0usize, Vec::new());
    for seed in 0..MODELS {
        let model = model_from_seed(seed);
        let manifest = Manifest::from_toml(&model.manifest_toml).unwrap();
        let request = parity_request(&model);
        let native =
            tessera_core::Snapshot::new(compile(&manifest, &model.facts, &request).unwrap())
                .unwrap();
        let envelope = sign_request(&manifest, &model.facts, &request).unwrap();
        let handle = abi.open(verifier, &envelope, 10).unwrap();
        let queries = parity_queries(&model, &manifest, CHECKS_PER_MODEL);
        // The fast check, by key and by permission handle, against the
        // native decision.
        for query in &queries {
            let Query::Check(check) = query else {
                continue;
            };
            let native_effect = effect_code(
                native
                    .check(&check.permission, &check.path, check.owner.as_deref())
                    .decision,
            );
            let permission = abi.permission(handle, &check.permission);
            let by_key = abi.check(
                handle,
                0,
                &check.permission,
                &check.path,
                check.owner.as_deref(),
            );
            pairs += 1;
            if by_key != i32::from(native_effect) {
                mismatches.push(format!(
                    "seed {seed}: fast check {check:?}: native {native_effect} wasm {by_key}"
                ));
            }
            if permission != 0 {
                let by_handle =
                    abi.check(handle, permission, "", &check.path, check.owner.as_deref());
                pairs += 1;
                if by_handle != i32::from(native_effect) {
                    mismatches.push(format!(
                        "seed {seed}: handle check {check:?}: native {native_effect} wasm {by_handle}"
                    ));
                }
            }
        }
        for query in queries {
            pairs += 1;
            let (here, there) = (native.answer(&query), abi.answer(handle, &query));
            if here != there {
                mismatches.push(format!(
                    "seed {seed}: {query:?}: native {here} wasm {there}"
                ));
            }
        }
        let here: Value = serde_json::from_str(&native.header_json().unwrap()).unwrap();
        let there = abi.info(handle);
        if here != there {
            mismatches.push(format!("seed {seed}: header: native {here} wasm {there}"));
        }
        abi.close.call(&mut abi.store, handle).unwrap();
    }
    println!(
        "wasm differential: {pairs} (snapshot, query) pairs, {} mismatches",
        mismatches.len()
    );
    assert!(pairs >= 10_000, "only {pairs} pairs");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// The ABI's own contract (docs/abi.md §11): its version, the codes of
/// its refusals, expectations on open, the text form, answers for bad
/// handles, and handles reused after close.
#[test]
fn the_abi_keeps_its_contract() {
    let mut abi = Abi::load();
    assert_eq!(abi.version.call(&mut abi.store, ()).unwrap(), 1);
    let last = abi.last_error.call(&mut abi.store, ()).unwrap();
    assert_eq!(abi.take_json(last), Value::Null, "no failure yet");

    assert_eq!(abi.verifier("{"), Err("BAD_KEY_SET".to_owned()));
    assert_eq!(abi.verifier("\u{0}not json"), Err("BAD_KEY_SET".to_owned()));
    let verifier = abi.verifier(&vector_jwks()).unwrap();

    let model = model_from_seed(3);
    let manifest = Manifest::from_toml(&model.manifest_toml).unwrap();
    let request = CompileRequest {
        principal: &model.principal,
        token_scopes: None,
        under: None,
        issued_at: 10,
        expires_at: 20,
        kid: KID,
        provenance: false,
        hash_seed: 0,
    };
    let envelope = sign_request(&manifest, &model.facts, &request).unwrap();
    let text = to_text(&envelope);
    let org = model.facts.org.clone();

    let opened = abi.open_as(verifier, 1, text.as_bytes(), 10, (&org, &model.principal));
    let handle = opened.unwrap();
    let info = abi.info(handle);
    assert_eq!(info["org"], json!(org));
    assert_eq!(info["expires_at"], json!(20));

    let refusals: Vec<Refusal> = vec![
        (0, envelope.clone(), 21, ("", ""), "EXPIRED"),
        (
            0,
            envelope[..envelope.len() / 2].to_vec(),
            10,
            ("", ""),
            "BAD_ENCODING",
        ),
        (0, b"random bytes".to_vec(), 10, ("", ""), "BAD_ENCODING"),
        (1, b"tss1.!!!".to_vec(), 10, ("", ""), "BAD_ENCODING"),
        (1, vec![0xff, 0xfe], 10, ("", ""), "BAD_ENCODING"),
        (2, envelope.clone(), 10, ("", ""), "BAD_ARGUMENT"),
        (0, envelope.clone(), 10, ("another-org", ""), "WRONG_ORG"),
        (
            0,
            envelope.clone(),
            10,
            ("", "someone-else"),
            "WRONG_PRINCIPAL",
        ),
    ];
    for (form, bytes, now, expect, code) in refusals {
        assert_eq!(
            abi.open_as(verifier, form, &bytes, now, expect),
            Err(code.to_owned()),
            "form {form}, now {now}, expect {expect:?}"
        );
    }
    let mut tampered = envelope.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 1;
    let refused = abi.open(verifier, &tampered, 10).unwrap_err();
    assert!(
        ["BAD_SIGNATURE", "BAD_ENCODING"].contains(&refused.as_str()),
        "{refused}"
    );
    assert_eq!(abi.open(0, &envelope, 10), Err("BAD_ARGUMENT".to_owned()));

    assert_eq!(abi.permission(handle, "no:such_key"), 0);
    assert_eq!(abi.error_code(), "UNKNOWN_PERMISSION");

    // A closed snapshot answers errors, and its handle is given out again.
    abi.close.call(&mut abi.store, handle).unwrap();
    assert_eq!(abi.info(handle)["error"]["code"], json!("BAD_ARGUMENT"));
    assert_eq!(
        abi.answer(handle, &Query::Nav {})["error"]["code"],
        json!("BAD_ARGUMENT")
    );
    assert_eq!(abi.check(handle, 0, "x:y", &[], None), -1);
    assert_eq!(abi.open(verifier, &envelope, 10).unwrap(), handle);
}
