//! `@tessera/node`: the napi-rs surface of tessera-core. The same raw classes
//! and method names as the wasm module (`wasm/src/lib.rs`), so the one
//! public JS API (`api.js`) sits on top of either; every rule lives in the
//! core.

use napi::bindgen_prelude::Uint8Array;
use napi::{Error, Status};
use napi_derive::napi;
use tessera_core::ffi::{FfiError, effect_code, key_set_from_fields, owner_arg, seconds_from_f64};
use tessera_core::{Expect, Permission, Snapshot, Verifier};

/// An error whose message starts with the stable code (`CODE: message`);
/// `api.js` rethrows it as a `TesseraError` with that `code`.
fn throw(err: FfiError) -> Error {
    Error::new(
        Status::GenericFailure,
        format!("{}: {}", err.code, err.message),
    )
}

fn json<T: serde::Serialize>(value: &T) -> napi::Result<String> {
    serde_json::to_string(value).map_err(|err| throw(FfiError::bad_argument(err.to_string())))
}

fn expect<'a>(org: &'a Option<String>, principal: &'a Option<String>) -> Expect<'a> {
    Expect {
        org: org.as_deref(),
        principal: principal.as_deref(),
    }
}

/// A key set to open snapshots with.
#[napi]
pub struct RawVerifier(Verifier);

#[napi]
impl RawVerifier {
    /// A verifier from a JWKS's keys, as parallel arrays of their fields.
    #[napi(factory, js_name = "fromKeys")]
    pub fn from_keys(
        kids: Vec<String>,
        ktys: Vec<String>,
        crvs: Vec<String>,
        xs: Vec<String>,
    ) -> napi::Result<RawVerifier> {
        key_set_from_fields(&kids, &ktys, &crvs, &xs)
            .map(|keys| RawVerifier(Verifier::new(keys)))
            .map_err(throw)
    }

    /// Opens a binary envelope at `now` (unix seconds).
    #[napi(js_name = "openBytes")]
    pub fn open_bytes(
        &self,
        bytes: Uint8Array,
        now: f64,
        org: Option<String>,
        principal: Option<String>,
    ) -> napi::Result<RawSnapshot> {
        let now = seconds_from_f64(now).map_err(throw)?;
        let opened = self.0.open(&bytes, now, expect(&org, &principal));
        Ok(RawSnapshot(opened.map_err(|err| throw(err.into()))?))
    }

    /// Opens the `tss1.` text form at `now` (unix seconds).
    #[napi(js_name = "openText")]
    pub fn open_text(
        &self,
        text: String,
        now: f64,
        org: Option<String>,
        principal: Option<String>,
    ) -> napi::Result<RawSnapshot> {
        let now = seconds_from_f64(now).map_err(throw)?;
        let opened = self.0.open_text(&text, now, expect(&org, &principal));
        Ok(RawSnapshot(opened.map_err(|err| throw(err.into()))?))
    }
}

/// A permission key resolved once, for checks in loops.
#[napi]
pub struct RawPermission(Permission);

/// An opened snapshot.
#[napi]
pub struct RawSnapshot(Snapshot);

#[napi]
impl RawSnapshot {
    /// `check` with the path in text form (`site:1,rack:3`).
    #[napi(js_name = "checkText")]
    pub fn check_text(&self, permission: String, path: String, owner: Option<String>) -> u8 {
        effect_code(
            self.0
                .check_text(&permission, &path, owner.as_deref())
                .decision,
        )
    }

    /// `check` with a permission handle.
    #[napi(js_name = "checkHandle")]
    pub fn check_handle(
        &self,
        permission: &RawPermission,
        path: String,
        owner: Option<String>,
    ) -> u8 {
        effect_code(
            self.0
                .check_permission_text(permission.0, &path, owner.as_deref())
                .decision,
        )
    }

    /// A batch of checks (parallel arrays; `""` owner: none), as JSON.
    #[napi(js_name = "checkMany")]
    pub fn check_many(
        &self,
        permissions: Vec<String>,
        paths: Vec<String>,
        owners: Vec<String>,
    ) -> napi::Result<String> {
        json(&self.0.check_many_texts(&permissions, &paths, &owners))
    }

    /// Resolves a key to a handle; `undefined` for keys not in the catalog.
    #[napi]
    pub fn permission(&self, key: String) -> Option<RawPermission> {
        self.0.permission(&key).map(RawPermission)
    }

    /// `can_anywhere`.
    #[napi(js_name = "canAnywhere")]
    pub fn can_anywhere(&self, permission: String) -> bool {
        self.0.can_anywhere(&permission)
    }

    /// `effective`, keys in catalog order.
    #[napi]
    pub fn effective(&self, path: Vec<String>, owner: Option<String>) -> Vec<String> {
        self.0.effective(&path, owner_arg(owner.as_deref()))
    }

    /// `filter`: the positions kept, for paths in text form and owners.
    #[napi(js_name = "filterTexts")]
    pub fn filter_texts(
        &self,
        permission: String,
        paths: Vec<String>,
        owners: Vec<String>,
    ) -> Vec<u32> {
        self.0.filter_text_items(&permission, &paths, &owners)
    }

    /// `filter_plan` as JSON.
    #[napi(js_name = "filterPlan")]
    pub fn filter_plan(&self, permission: String) -> napi::Result<String> {
        json(&self.0.filter_plan(&permission))
    }

    /// `guard` as JSON.
    #[napi]
    pub fn guard(&self, route: String) -> napi::Result<String> {
        json(&self.0.guard(&route))
    }

    /// `nav`.
    #[napi]
    pub fn nav(&self) -> Vec<String> {
        self.0.nav()
    }

    /// `claims`.
    #[napi]
    pub fn claims(&self) -> Vec<String> {
        self.0.claims()
    }

    /// `explain` as JSON.
    #[napi]
    pub fn explain(
        &self,
        permission: String,
        path: Vec<String>,
        owner: Option<String>,
    ) -> napi::Result<String> {
        json(
            &self
                .0
                .explain(&permission, &path, owner_arg(owner.as_deref())),
        )
    }

    /// The header as JSON.
    #[napi]
    pub fn header(&self) -> napi::Result<String> {
        json(&self.0.info())
    }

    /// Kept for API parity with the wasm module, whose objects must be
    /// freed by hand; napi objects are freed by the garbage collector.
    #[napi]
    pub fn free(&self) {}
}
