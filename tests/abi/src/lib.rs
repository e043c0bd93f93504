//! tessera-core behind a minimal `extern "C"` ABI, so a plain wasm runtime
//! (wasmtime, which cannot run wasm-bindgen output) can open snapshots and
//! answer queries with the very same core the browser runs.
//!
//! Memory protocol: the host calls `tessera_alloc(len)` and writes `len`
//! bytes there; the module frees what it was given. Results come back as
//! `(ptr << 32) | len`; the host reads them, then calls `tessera_free`.
//! Handles are small positive integers; 0 means "failed, see
//! `tessera_last_error`".

// A raw ABI cannot be written without `unsafe` (pointers in and out of the
// module's memory); this test-only crate is the one place that allows it.
#![allow(unsafe_code, reason = "a raw ABI exchanges pointers with its host")]

use std::cell::RefCell;

use tessera_core::{Expect, Snapshot, Verifier};

thread_local! {
    static SNAPSHOTS: RefCell<Vec<Option<Snapshot>>> = const { RefCell::new(Vec::new()) };
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Reserves `len` bytes for the host to write into.
#[unsafe(no_mangle)]
pub extern "C" fn tessera_alloc(len: u32) -> *mut u8 {
    let mut buffer = vec![0u8; len as usize].into_boxed_slice();
    let ptr = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    ptr
}

/// Frees a buffer from `tessera_alloc` or a result.
///
/// # Safety
/// `ptr` and `len` must be exactly a buffer this module handed out.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tessera_free(ptr: *mut u8, len: u32) {
    if !ptr.is_null() {
        // SAFETY: the caller passes back a buffer this module leaked with this length.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len as usize)) });
    }
}

/// Takes ownership of a host-written buffer.
///
/// # Safety
/// As for [`tessera_free`].
unsafe fn take(ptr: *mut u8, len: u32) -> Vec<u8> {
    if ptr.is_null() {
        return Vec::new();
    }
    // SAFETY: the host passes a buffer from `tessera_alloc` with its length.
    unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len as usize)) }.into_vec()
}

/// Hands a result to the host as `(ptr << 32) | len`.
fn give(bytes: Vec<u8>) -> u64 {
    let len = bytes.len() as u64;
    let ptr = Box::into_raw(bytes.into_boxed_slice()) as *mut u8 as usize as u64;
    (ptr << 32) | len
}

fn fail(message: String) -> u32 {
    LAST_ERROR.with(|last| *last.borrow_mut() = message);
    0
}

/// Verifies and opens a snapshot against a JWKS at `now`; returns a handle.
///
/// # Safety
/// Both buffers come from `tessera_alloc` and are consumed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tessera_open(
    jwks_ptr: *mut u8,
    jwks_len: u32,
    envelope_ptr: *mut u8,
    envelope_len: u32,
    now: u64,
) -> u32 {
    // SAFETY: forwarded from the caller's contract.
    let (jwks, envelope) = unsafe { (take(jwks_ptr, jwks_len), take(envelope_ptr, envelope_len)) };
    let Ok(jwks) = String::from_utf8(jwks) else {
        return fail("BAD_KEY_SET: not UTF-8".to_owned());
    };
    let opened = Verifier::from_jwks(&jwks)
        .and_then(|verifier| verifier.open(&envelope, now, Expect::default()));
    match opened {
        Ok(snapshot) => SNAPSHOTS.with(|all| {
            let mut all = all.borrow_mut();
            all.push(Some(snapshot));
            all.len() as u32
        }),
        Err(err) => fail(format!("{}: {err}", err.code())),
    }
}

/// Answers a `tessera_core::ffi::Query` in JSON; returns the JSON answer,
/// or `{"error": {"code", "message"}}`.
///
/// # Safety
/// The query buffer comes from `tessera_alloc` and is consumed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tessera_answer(handle: u32, query_ptr: *mut u8, query_len: u32) -> u64 {
    // SAFETY: forwarded from the caller's contract.
    let query = unsafe { take(query_ptr, query_len) };
    let answer = SNAPSHOTS.with(|all| {
        let all = all.borrow();
        let snapshot = (handle as usize)
            .checked_sub(1)
            .and_then(|at| all.get(at))
            .and_then(Option::as_ref);
        let query = std::str::from_utf8(&query).unwrap_or("");
        match snapshot.map(|snapshot| snapshot.answer_json(query)) {
            Some(Ok(json)) => json,
            Some(Err(err)) => format!(r#"{{"error":{{"code":"{}","message":"query"}}}}"#, err.code),
            None => r#"{"error":{"code":"NOT_FOUND","message":"no such snapshot"}}"#.to_owned(),
        }
    });
    give(answer.into_bytes())
}

/// Drops a snapshot.
#[unsafe(no_mangle)]
pub extern "C" fn tessera_close(handle: u32) {
    SNAPSHOTS.with(|all| {
        if let Some(slot) = (handle as usize)
            .checked_sub(1)
            .and_then(|at| all.borrow_mut().get_mut(at).map(Option::take))
        {
            drop(slot);
        }
    });
}

/// The last `tessera_open` failure, `CODE: message`.
#[unsafe(no_mangle)]
pub extern "C" fn tessera_last_error() -> u64 {
    give(LAST_ERROR.with(|last| last.borrow().clone()).into_bytes())
}
