//! `@tessera/web`: the wasm-bindgen surface of tessera-core. Names only: every
//! rule lives in the core, every answer's shape is the core's JSON, and the
//! hand-written JS in `wasm/pkg/api.js` turns these into the public API.

use tessera_core::ffi::{FfiError, seconds_from_f64};
use tessera_core::{Effect, Expect, Permission, Snapshot, Verifier};
use wasm_bindgen::prelude::*;

/// Turns an error into a thrown JS `Error` with a stable `code` property.
fn throw(err: FfiError) -> JsValue {
    let error = js_sys::Error::new(&err.message);
    let _ = js_sys::Reflect::set(
        &error,
        &JsValue::from_str("code"),
        &JsValue::from_str(err.code),
    );
    error.into()
}

/// A key set to open snapshots with.
#[wasm_bindgen]
pub struct RawVerifier(Verifier);

#[wasm_bindgen]
impl RawVerifier {
    /// Parses a JWKS document.
    #[wasm_bindgen(js_name = fromJwks)]
    pub fn from_jwks(jwks: &str) -> Result<RawVerifier, JsValue> {
        Verifier::from_jwks(jwks)
            .map(RawVerifier)
            .map_err(|err| throw(err.into()))
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
        let expect = Expect {
            org: org.as_deref(),
            principal: principal.as_deref(),
        };
        self.0
            .open(bytes, now, expect)
            .map(RawSnapshot)
            .map_err(|err| throw(err.into()))
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
        let expect = Expect {
            org: org.as_deref(),
            principal: principal.as_deref(),
        };
        self.0
            .open_text(text, now, expect)
            .map(RawSnapshot)
            .map_err(|err| throw(err.into()))
    }
}

/// A permission key resolved once, for checks in loops.
#[wasm_bindgen]
pub struct RawPermission(Permission);

/// An opened snapshot.
#[wasm_bindgen]
pub struct RawSnapshot(Snapshot);

/// `allow` = 0, `deny` = 1, `not_found` = 2: a number crosses the boundary
/// without a string copy.
fn effect_code(effect: Effect) -> u8 {
    match effect {
        Effect::Allow => 0,
        Effect::Deny => 1,
        Effect::NotFound => 2,
    }
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

    /// Resolves a key to a handle; `undefined` for keys not in the catalog.
    pub fn permission(&self, key: &str) -> Option<RawPermission> {
        self.0.permission(key).map(RawPermission)
    }

    /// `can_anywhere`.
    #[wasm_bindgen(js_name = canAnywhere)]
    pub fn can_anywhere(&self, permission: &str) -> bool {
        self.0.can_anywhere(permission)
    }

    /// Any query of `tessera_core::ffi::Query`, JSON in and out.
    pub fn answer(&self, query: &str) -> Result<String, JsValue> {
        self.0.answer_json(query).map_err(throw)
    }

    /// The header as JSON (org, principal, times, revision, subtrees).
    pub fn header(&self) -> Result<String, JsValue> {
        self.0.header_json().map_err(throw)
    }
}
