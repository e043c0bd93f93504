//! `@tessera/web`: the wasm-bindgen surface of tessera-core. Names only: every
//! rule lives in the core, every answer's shape is the core's JSON, and the
//! hand-written JS in `wasm/pkg/api.js` turns these into the public API.

use tessera_core::ffi::{FfiError, effect_code, key_set_from_fields, owner_arg, seconds_from_f64};
use tessera_core::{Expect, Permission, Snapshot, Verifier};
use wasm_bindgen::prelude::*;

/// Turns an error into a thrown JS `Error` whose message starts with the
/// stable code (`CODE: message`); `api.js` rethrows it as a `TesseraError`
/// with that `code` property. (Setting the property here needs `js-sys`,
/// which costs the bundle more than the rest of the error handling.)
fn throw(err: FfiError) -> JsValue {
    JsError::new(&format!("{}: {}", err.code, err.message)).into()
}

/// A key set to open snapshots with.
#[wasm_bindgen]
pub struct RawVerifier(Verifier);

#[wasm_bindgen]
impl RawVerifier {
    /// A verifier from a JWKS's keys, as parallel arrays of their fields.
    /// The JS side parses the JSON text (`JSON.parse`), which keeps a JSON
    /// parser, and the float formatting its errors need, out of the bundle;
    /// every key check (`kty`, `crv`, `x`, duplicate `kid`) is the core's.
    #[wasm_bindgen(js_name = fromKeys)]
    pub fn from_keys(
        kids: Vec<String>,
        ktys: Vec<String>,
        crvs: Vec<String>,
        xs: Vec<String>,
    ) -> Result<RawVerifier, JsValue> {
        key_set_from_fields(&kids, &ktys, &crvs, &xs)
            .map(|keys| RawVerifier(Verifier::new(keys)))
            .map_err(throw)
    }

    /// Opens a binary envelope at `now` (unix seconds).
    #[wasm_bindgen(js_name = openBytes)]
    pub fn open_bytes(
        &self,
        bytes: &[u8],
        now: f64,
        org: Option<String>,
        principal: Option<String>,
    ) -> Result<RawSnapshot, JsValue> {
        let now = seconds_from_f64(now).map_err(throw)?;
        let expect = expect(&org, &principal);
        Ok(RawSnapshot(
            self.0
                .open(bytes, now, expect)
                .map_err(|err| throw(err.into()))?,
        ))
    }

    /// Opens the `tss1.` text form at `now` (unix seconds).
    #[wasm_bindgen(js_name = openText)]
    pub fn open_text(
        &self,
        text: &str,
        now: f64,
        org: Option<String>,
        principal: Option<String>,
    ) -> Result<RawSnapshot, JsValue> {
        let now = seconds_from_f64(now).map_err(throw)?;
        let expect = expect(&org, &principal);
        Ok(RawSnapshot(
            self.0
                .open_text(text, now, expect)
                .map_err(|err| throw(err.into()))?,
        ))
    }
}

fn expect<'a>(org: &'a Option<String>, principal: &'a Option<String>) -> Expect<'a> {
    Expect {
        org: org.as_deref(),
        principal: principal.as_deref(),
    }
}

/// A permission key resolved once, for checks in loops.
#[wasm_bindgen]
pub struct RawPermission(Permission);

/// An opened snapshot.
#[wasm_bindgen]
pub struct RawSnapshot(Snapshot);

/// Serializes an answer; the core's shapes serialize infallibly.
fn json<T: serde::Serialize>(value: &T) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(|err| throw(FfiError::bad_argument(err.to_string())))
}

#[wasm_bindgen]
impl RawSnapshot {
    /// `check` with the path in text form (`site:1,rack:3`).
    #[wasm_bindgen(js_name = checkText)]
    pub fn check_text(&self, permission: &str, path: &str, owner: Option<String>) -> u8 {
        effect_code(
            self.0
                .check_text(permission, path, owner.as_deref())
                .decision,
        )
    }

    /// `check` with a permission handle.
    #[wasm_bindgen(js_name = checkHandle)]
    pub fn check_handle(
        &self,
        permission: &RawPermission,
        path: &str,
        owner: Option<String>,
    ) -> u8 {
        effect_code(
            self.0
                .check_permission_text(permission.0, path, owner.as_deref())
                .decision,
        )
    }

    /// A batch of checks (parallel arrays; `""` owner: none), as JSON
    /// `[{decision, diagnostic?}]`.
    #[wasm_bindgen(js_name = checkMany)]
    pub fn check_many(
        &self,
        permissions: Vec<String>,
        paths: Vec<String>,
        owners: Vec<String>,
    ) -> Result<String, JsValue> {
        json(&self.0.check_many_texts(&permissions, &paths, &owners))
    }

    /// Resolves a key to a handle; `undefined` for keys not in the catalog.
    pub fn permission(&self, key: &str) -> Option<RawPermission> {
        self.0.permission(key).map(RawPermission)
    }

    /// `can_anywhere`.
    #[wasm_bindgen(js_name = canAnywhere)]
    pub fn can_anywhere(&self, permission: &str) -> bool {
        self.0.can_anywhere(permission)
    }

    /// `effective`, keys in catalog order.
    pub fn effective(&self, path: Vec<String>, owner: Option<String>) -> Vec<String> {
        self.0.effective(&path, owner_arg(owner.as_deref()))
    }

    /// `filter`: the positions kept, for paths in text form and owners.
    #[wasm_bindgen(js_name = filterTexts)]
    pub fn filter_texts(
        &self,
        permission: &str,
        paths: Vec<String>,
        owners: Vec<String>,
    ) -> Vec<u32> {
        self.0.filter_text_items(permission, &paths, &owners)
    }

    /// `filter_plan` as JSON.
    #[wasm_bindgen(js_name = filterPlan)]
    pub fn filter_plan(&self, permission: &str) -> Result<String, JsValue> {
        json(&self.0.filter_plan(permission))
    }

    /// `guard` as JSON.
    pub fn guard(&self, route: &str) -> Result<String, JsValue> {
        json(&self.0.guard(route))
    }

    /// `nav`.
    pub fn nav(&self) -> Vec<String> {
        self.0.nav()
    }

    /// `claims`.
    pub fn claims(&self) -> Vec<String> {
        self.0.claims()
    }

    /// `explain` as JSON.
    pub fn explain(
        &self,
        permission: &str,
        path: Vec<String>,
        owner: Option<String>,
    ) -> Result<String, JsValue> {
        json(
            &self
                .0
                .explain(permission, &path, owner_arg(owner.as_deref())),
        )
    }

    /// The header as JSON (org, principal, times, revision, subtrees).
    pub fn header(&self) -> Result<String, JsValue> {
        json(&self.0.info())
    }
}
