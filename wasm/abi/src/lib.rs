//! The portable policy module: tessera-core behind a plain `extern "C"`
//! ABI (docs/abi.md §11), for hosts that run WebAssembly without
//! wasm-bindgen: the wasmtime parity runner, the Python SDK, a Go SDK on
//! wazero. Every answer comes from tessera-core; this file only moves
//! bytes and handles across the boundary.
//!
//! The contract in short (docs/abi.md §11 has it in full):
//! - inputs are borrowed: the host writes them into buffers it reserved
//!   with `tessera_alloc` and frees them when it likes;
//! - outputs are owned by the host: a `u64` packing `(ptr << 32) | len`,
//!   freed with `tessera_free`;
//! - handles (key sets, snapshots, permissions) are positive `u32`s; `0`
//!   means "failed, see `tessera_last_error`".

// A raw ABI cannot be written without `unsafe` (pointers in and out of the
// module's memory); this crate is the one place that allows it.
#![allow(unsafe_code, reason = "a raw ABI exchanges pointers with its host")]

mod slots;

use std::cell::RefCell;

use tessera_core::ffi::{FfiError, effect_code, owner_arg};
use tessera_core::{ErrorCode, Expect, Permission, Snapshot, Verifier, VerifyError, from_text};

use slots::Slots;

/// The ABI's version: a host refuses a module whose version it does not
/// know. It changes with any incompatible change of an export, a memory
/// rule or an answer's shape; a new export alone does not change it.
pub const ABI_VERSION: u32 = 1;

thread_local! {
    static VERIFIERS: RefCell<Slots<Verifier>> = const { RefCell::new(Slots::new()) };
    static SNAPSHOTS: RefCell<Slots<Snapshot>> = const { RefCell::new(Slots::new()) };
    static PERMISSIONS: RefCell<Slots<Permission>> = const { RefCell::new(Slots::new()) };
    static LAST_ERROR: RefCell<Option<FfiError>> = const { RefCell::new(None) };
}

/// Which ABI this module speaks ([`ABI_VERSION`]).
#[unsafe(no_mangle)]
pub extern "C" fn tessera_abi_version() -> u32 {
    ABI_VERSION
}

/// Reserves `len` bytes for the host to write into; the host frees them
/// with [`tessera_free`].
#[unsafe(no_mangle)]
pub extern "C" fn tessera_alloc(len: u32) -> *mut u8 {
    let buffer = vec![0u8; len as usize].into_boxed_slice();
    Box::into_raw(buffer).cast::<u8>()
}

/// Frees a buffer from [`tessera_alloc`] or an answer.
///
/// # Safety
/// `ptr` and `len` must be exactly a buffer this module handed out, freed
/// once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tessera_free(ptr: *mut u8, len: u32) {
    if !ptr.is_null() {
        // SAFETY: the caller passes back a buffer this module leaked with this length.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len as usize)) });
    }
}

/// Reads a host-written buffer without taking it.
///
/// # Safety
/// `ptr` points to `len` readable bytes (or `len` is 0).
unsafe fn borrow<'a>(ptr: *const u8, len: u32) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the host wrote `len` bytes at `ptr` in this module's memory.
    unsafe { std::slice::from_raw_parts(ptr, len as usize) }
}

/// A borrowed buffer as UTF-8 text.
///
/// # Safety
/// As for [`borrow`].
unsafe fn text<'a>(ptr: *const u8, len: u32, what: &str) -> Result<&'a str, FfiError> {
    // SAFETY: forwarded from the caller's contract.
    std::str::from_utf8(unsafe { borrow(ptr, len) })
        .map_err(|_| FfiError::bad_argument(format!("{what} is not UTF-8")))
}

/// Hands bytes to the host as `(ptr << 32) | len`.
fn give(bytes: Vec<u8>) -> u64 {
    let len = bytes.len() as u64;
    let ptr = Box::into_raw(bytes.into_boxed_slice()).cast::<u8>() as usize as u64;
    (ptr << 32) | len
}

/// Records a failure for [`tessera_last_error`] and answers the failed
/// handle, 0.
fn fail(error: FfiError) -> u32 {
    LAST_ERROR.with(|last| *last.borrow_mut() = Some(error));
    0
}

/// The error of the last call that answered 0 (a key set, an open or a
/// permission), as JSON `{"code", "message"}`, or `null` when none failed
/// since the module started.
#[unsafe(no_mangle)]
pub extern "C" fn tessera_last_error() -> u64 {
    let json = LAST_ERROR.with(|last| match &*last.borrow() {
        Some(error) => serde_json::json!({ "code": error.code.as_str(), "message": error.message }),
        None => serde_json::Value::Null,
    });
    give(json.to_string().into_bytes())
}

/// Parses a JWKS (`{"keys": [...]}`) into a key-set handle.
///
/// # Safety
/// `jwks_ptr` points to `jwks_len` bytes written by the host.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tessera_verifier(jwks_ptr: *const u8, jwks_len: u32) -> u32 {
    // SAFETY: forwarded from the caller's contract.
    let parsed = unsafe { text(jwks_ptr, jwks_len, "the key set") }
        .and_then(|jwks| Verifier::from_jwks(jwks).map_err(FfiError::from));
    match parsed {
        Ok(verifier) => VERIFIERS.with(|all| all.borrow_mut().insert(verifier)),
        Err(error) => fail(error),
    }
}

/// Frees a key-set handle (snapshots opened with it stay open).
#[unsafe(no_mangle)]
pub extern "C" fn tessera_verifier_close(verifier: u32) {
    VERIFIERS.with(|all| all.borrow_mut().remove(verifier));
}

/// Verifies and opens a snapshot at `now` (Unix seconds): `form` 0 is the
/// binary envelope, 1 its `tss1.` text. A non-empty `org` or `principal`
/// must be the snapshot's (`WRONG_ORG`, `WRONG_PRINCIPAL`). Answers a
/// snapshot handle.
///
/// # Safety
/// Each `(ptr, len)` points to bytes written by the host (or `len` is 0).
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a flat C signature")]
pub unsafe extern "C" fn tessera_open(
    verifier: u32,
    form: u32,
    snapshot_ptr: *const u8,
    snapshot_len: u32,
    now: u64,
    org_ptr: *const u8,
    org_len: u32,
    principal_ptr: *const u8,
    principal_len: u32,
) -> u32 {
    // SAFETY: forwarded from the caller's contract.
    let opened = unsafe {
        open(
            verifier,
            form,
            borrow(snapshot_ptr, snapshot_len),
            now,
            text(org_ptr, org_len, "the org"),
            text(principal_ptr, principal_len, "the principal"),
        )
    };
    match opened {
        Ok(snapshot) => SNAPSHOTS.with(|all| all.borrow_mut().insert(snapshot)),
        Err(error) => fail(error),
    }
}

fn open(
    verifier: u32,
    form: u32,
    bytes: &[u8],
    now: u64,
    org: Result<&str, FfiError>,
    principal: Result<&str, FfiError>,
) -> Result<Snapshot, FfiError> {
    let (org, principal) = (org?, principal?);
    let expect = Expect {
        org: Some(org).filter(|org| !org.is_empty()),
        principal: Some(principal).filter(|principal| !principal.is_empty()),
    };
    let envelope = match form {
        0 => bytes.to_vec(),
        1 => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| FfiError::from(VerifyError::BadEncoding("the text is not UTF-8")))?;
            from_text(text)?
        }
        _ => return Err(FfiError::bad_argument(format!("form {form} is not 0 or 1"))),
    };
    VERIFIERS.with(|all| {
        let all = all.borrow();
        let verifier = all
            .get(verifier)
            .ok_or_else(|| FfiError::bad_argument("no such key set"))?;
        Ok(verifier.open(&envelope, now, expect)?)
    })
}

/// Frees a snapshot handle.
#[unsafe(no_mangle)]
pub extern "C" fn tessera_close(snapshot: u32) {
    SNAPSHOTS.with(|all| all.borrow_mut().remove(snapshot));
}

/// Runs `answer` on an open snapshot; a closed or unknown handle is
/// `BAD_ARGUMENT`.
fn with_snapshot<T>(
    snapshot: u32,
    answer: impl FnOnce(&Snapshot) -> Result<T, FfiError>,
) -> Result<T, FfiError> {
    SNAPSHOTS.with(|all| {
        let all = all.borrow();
        let snapshot = all
            .get(snapshot)
            .ok_or_else(|| FfiError::bad_argument("no such snapshot"))?;
        answer(snapshot)
    })
}

/// An answer or its error as JSON: `{"error": {"code", "message"}}`.
fn answer_json(answer: Result<String, FfiError>) -> u64 {
    let json = answer.unwrap_or_else(|error| {
        serde_json::json!({ "error": { "code": error.code.as_str(), "message": error.message } })
            .to_string()
    });
    give(json.into_bytes())
}

/// The snapshot's header (`org`, `principal`, `expires_at`, ...), as JSON.
#[unsafe(no_mangle)]
pub extern "C" fn tessera_info(snapshot: u32) -> u64 {
    answer_json(with_snapshot(snapshot, Snapshot::header_json))
}

/// Answers a query in its JSON form (`{"check": {...}}`, `{"nav": {}}`,
/// ...; `tessera_core::ffi::Query`), as JSON.
///
/// # Safety
/// `query_ptr` points to `query_len` bytes written by the host.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tessera_answer(
    snapshot: u32,
    query_ptr: *const u8,
    query_len: u32,
) -> u64 {
    // SAFETY: forwarded from the caller's contract.
    let query = unsafe { text(query_ptr, query_len, "the query") };
    answer_json(query.and_then(|query| with_snapshot(snapshot, |s| s.answer_json(query))))
}

/// Resolves a permission key once, for checks in loops: a permission
/// handle, or 0 when the key is not in the snapshot's catalog
/// (`UNKNOWN_PERMISSION`).
///
/// # Safety
/// `key_ptr` points to `key_len` bytes written by the host.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tessera_permission(
    snapshot: u32,
    key_ptr: *const u8,
    key_len: u32,
) -> u32 {
    // SAFETY: forwarded from the caller's contract.
    let key = unsafe { text(key_ptr, key_len, "the permission") };
    let found = key.and_then(|key| {
        with_snapshot(snapshot, |s| {
            s.permission(key).ok_or_else(|| FfiError {
                code: ErrorCode::UnknownPermission,
                message: format!("`{key}` is not in the snapshot's catalog"),
            })
        })
    });
    match found {
        Ok(permission) => PERMISSIONS.with(|all| all.borrow_mut().insert(permission)),
        Err(error) => fail(error),
    }
}

/// Frees a permission handle.
#[unsafe(no_mangle)]
pub extern "C" fn tessera_permission_close(permission: u32) {
    PERMISSIONS.with(|all| all.borrow_mut().remove(permission));
}

/// The decision of one check, the fast way: `0` allow, `1` deny, `2`
/// not found, `-1` a bad argument (a closed handle, text that is not
/// UTF-8). The path is in text form (`site:1,rack:3`, empty for the org
/// root); an empty owner is none. With `permission` 0 the key is read
/// from `key` instead (an unknown key is a deny).
///
/// # Safety
/// Each `(ptr, len)` points to bytes written by the host (or `len` is 0).
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a flat C signature")]
pub unsafe extern "C" fn tessera_check(
    snapshot: u32,
    permission: u32,
    key_ptr: *const u8,
    key_len: u32,
    path_ptr: *const u8,
    path_len: u32,
    owner_ptr: *const u8,
    owner_len: u32,
) -> i32 {
    // SAFETY: forwarded from the caller's contract.
    let (key, path, owner) = unsafe {
        (
            text(key_ptr, key_len, "the permission"),
            text(path_ptr, path_len, "the path"),
            text(owner_ptr, owner_len, "the owner"),
        )
    };
    let decided = with_snapshot(snapshot, |s| {
        let (path, owner) = (path?, owner_arg(Some(owner?)));
        let decision = if permission == 0 {
            s.check_text(key?, path, owner)
        } else {
            let handle = PERMISSIONS.with(|all| all.borrow().get(permission).copied());
            let handle = handle.ok_or_else(|| FfiError::bad_argument("no such permission"))?;
            s.check_permission_text(handle, path, owner)
        };
        Ok(effect_code(decision.decision))
    });
    decided.map_or(-1, i32::from)
}
