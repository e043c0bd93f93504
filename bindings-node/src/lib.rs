//! `@tessera/node`: the napi-rs surface of tessera-core. The same raw classes
//! and method names as the wasm module (`wasm/src/lib.rs`), so the one
//! public JS API (`api.js`) sits on top of either; every rule lives in the
//! core.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use napi::bindgen_prelude::Uint8Array;
use napi::{Env, Error, JsString, JsValue, Status, sys};
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
        Ok(RawSnapshot::new(opened.map_err(|err| throw(err.into()))?))
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
        Ok(RawSnapshot::new(opened.map_err(|err| throw(err.into()))?))
    }
}

/// A permission key resolved once, for checks in loops.
#[napi]
pub struct RawPermission(Permission);

/// An opened snapshot. It is also registered in this thread's table of
/// open snapshots, so the fast `checkHandle` function can find it by a
/// number instead of unwrapping a class object.
#[napi]
pub struct RawSnapshot(Arc<Snapshot>, f64);

impl RawSnapshot {
    fn new(snapshot: Snapshot) -> RawSnapshot {
        let snapshot = Arc::new(snapshot);
        let id = FAST.with(|fast| fast.borrow_mut().add_snapshot(Arc::clone(&snapshot)));
        RawSnapshot(snapshot, id)
    }
}

impl Drop for RawSnapshot {
    fn drop(&mut self) {
        // The table may already be gone while the thread exits.
        let _ = FAST.try_with(|fast| fast.borrow_mut().remove_snapshot(self.1));
    }
}

#[napi]
impl RawSnapshot {
    /// This snapshot's number for the fast `checkHandle` function.
    #[napi(js_name = "fastId")]
    pub fn fast_id(&self) -> f64 {
        self.1
    }

    /// The number of the permission handle `key` resolves to, for the fast
    /// `checkHandle` function; `undefined` for keys not in the catalog.
    #[napi(js_name = "permissionId")]
    pub fn permission_id(&self, key: String) -> Option<u32> {
        let permission = self.0.permission(&key)?;
        FAST.with(|fast| fast.borrow_mut().intern_permission(permission))
    }

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

/// The objects the fast `checkHandle` function reaches by number, per JS
/// thread (each worker has its own, as it has its own objects). Snapshot
/// numbers carry a generation, so a number kept after its snapshot was
/// collected never finds another snapshot. Permission handles are interned
/// once per distinct handle and kept for the thread's life: a process sees
/// few catalogs, and a catalog has few keys.
#[derive(Default)]
struct FastTable {
    snapshots: Vec<(u32, Option<Arc<Snapshot>>)>,
    free: Vec<u32>,
    permissions: Vec<Permission>,
    permission_ids: HashMap<Permission, u32>,
    /// The reused buffer `checkHandle` reads paths into.
    path: Vec<u8>,
}

/// Snapshot numbers: slot + generation × 2^32 (exact in an f64 while the
/// generation is below 2^21).
const SLOT_SPAN: f64 = 4_294_967_296.0;

impl FastTable {
    fn add_snapshot(&mut self, snapshot: Arc<Snapshot>) -> f64 {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.snapshots.push((0, None));
                u32::try_from(self.snapshots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let Some(entry) = self.snapshots.get_mut(slot as usize) else {
            return -1.0;
        };
        entry.0 = (entry.0 + 1) % (1 << 21);
        entry.1 = Some(snapshot);
        f64::from(entry.0) * SLOT_SPAN + f64::from(slot)
    }

    fn split(id: f64) -> Option<(usize, u32)> {
        if !(0.0..9.007_199_254_740_992e15).contains(&id) || id.fract() != 0.0 {
            return None;
        }
        let generation = (id / SLOT_SPAN).floor();
        let slot = id - generation * SLOT_SPAN;
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "both are non-negative integers in range, so the casts are exact"
        )]
        Some((slot as usize, generation as u32))
    }

    fn find(snapshots: &[(u32, Option<Arc<Snapshot>>)], id: f64) -> Option<&Snapshot> {
        let (slot, generation) = FastTable::split(id)?;
        match snapshots.get(slot)? {
            (current, Some(snapshot)) if *current == generation => Some(snapshot),
            _ => None,
        }
    }

    fn remove_snapshot(&mut self, id: f64) {
        let Some((slot, generation)) = FastTable::split(id) else {
            return;
        };
        if let Some(entry) = self.snapshots.get_mut(slot)
            && entry.0 == generation
            && entry.1.take().is_some()
        {
            self.free.extend(u32::try_from(slot).ok());
        }
    }

    fn intern_permission(&mut self, permission: Permission) -> Option<u32> {
        if let Some(id) = self.permission_ids.get(&permission) {
            return Some(*id);
        }
        let id = u32::try_from(self.permissions.len()).ok()?;
        self.permissions.push(permission);
        self.permission_ids.insert(permission, id);
        Some(id)
    }
}

thread_local! {
    static FAST: RefCell<FastTable> = RefCell::new(FastTable::default());
}

/// The starting size of the reused path buffer; it grows to fit longer
/// paths.
const PATH_BUFFER: usize = 256;

/// Reads a JS string's UTF-8 into `buffer`, reused from call to call (and
/// grown when a string does not fit), and returns it: no allocation per call.
#[allow(
    unsafe_code,
    reason = "napi-rs has no safe way to read a JS string into a caller's buffer"
)]
fn read_utf8(
    env: sys::napi_env,
    value: sys::napi_value,
    buffer: &mut Vec<u8>,
) -> napi::Result<&str> {
    let bad = || throw(FfiError::bad_argument("path must be a string"));
    if buffer.len() < PATH_BUFFER {
        buffer.resize(PATH_BUFFER, 0);
    }
    let mut written = copy_utf8(env, value, buffer).ok_or_else(bad)?;
    if written + 1 >= buffer.len() {
        // It may have been cut short: ask for the length, grow, read again.
        let mut length = 0usize;
        // SAFETY: a null buffer asks N-API for the length only.
        let status = unsafe {
            sys::napi_get_value_string_utf8(env, value, std::ptr::null_mut(), 0, &mut length)
        };
        if status != sys::Status::napi_ok {
            return Err(bad());
        }
        buffer.resize(length + 1, 0);
        written = copy_utf8(env, value, buffer).ok_or_else(bad)?;
    }
    // N-API writes valid UTF-8 (lone surrogates become U+FFFD), as for a
    // `String` argument.
    std::str::from_utf8(buffer.get(..written).unwrap_or_default())
        .map_err(|err| throw(FfiError::bad_argument(err.to_string())))
}

/// Copies the string `value` into `buffer` as UTF-8 with a NUL (cut short
/// to fit): the count of bytes written, or `None` if it is not a string.
#[allow(
    unsafe_code,
    reason = "napi-rs has no safe way to read a JS string into a caller's buffer"
)]
fn copy_utf8(env: sys::napi_env, value: sys::napi_value, buffer: &mut [u8]) -> Option<usize> {
    let mut written = 0usize;
    // SAFETY: `buffer` is initialised and writable for its full length;
    // N-API writes at most `len - 1` bytes plus a NUL and reports the count.
    let status = unsafe {
        sys::napi_get_value_string_utf8(
            env,
            value,
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            &mut written,
        )
    };
    (status == sys::Status::napi_ok).then_some(written)
}

/// The fast form of `RawSnapshot.checkHandle` for the hot path: the
/// snapshot and the permission handle by their numbers (`fastId`,
/// `permissionId`), the path in text form, read without allocating. The
/// answer is the core's `check_permission_text`, as for the method. A
/// snapshot number that no longer names an open snapshot throws.
#[napi(js_name = "checkHandle")]
pub fn check_handle_fast(
    env: Env,
    snapshot: f64,
    permission: u32,
    path: JsString,
    owner: Option<String>,
) -> napi::Result<u8> {
    FAST.with(|fast| {
        let mut fast = fast.borrow_mut();
        let FastTable {
            snapshots,
            permissions,
            path: buffer,
            ..
        } = &mut *fast;
        let Some(snapshot) = FastTable::find(snapshots, snapshot) else {
            return Err(throw(FfiError::bad_argument("snapshot is closed")));
        };
        let Some(permission) = permissions.get(permission as usize) else {
            return Err(throw(FfiError::bad_argument("unknown permission handle")));
        };
        let path = read_utf8(env.raw(), path.raw(), buffer)?;
        Ok(effect_code(
            snapshot
                .check_permission_text(*permission, path, owner.as_deref())
                .decision,
        ))
    })
}
