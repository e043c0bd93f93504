//! Payload decode + index + queries on arbitrary bytes, skipping the
//! signature: a signer's bug (or a leaked key) must still never make a
//! verifier panic, loop or overflow its stack.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::{Snapshot, SnapshotPayload};

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = postcard::from_bytes::<SnapshotPayload>(data) else {
        return;
    };
    let Ok(snapshot) = Snapshot::new(payload) else {
        return;
    };
    let paths: [&[&str]; 4] = [&[], &["site:1"], &["site:1", "rack:1", "miner:1"], &["x:1", "y"]];
    let keys: Vec<String> = snapshot.catalog().entries().iter().map(|e| e.key.clone()).collect();
    for key in keys.iter().map(String::as_str).chain(["no:such"]) {
        for path in paths {
            let _ = snapshot.check(key, path, Some("u"));
            let _ = snapshot.explain(key, path, None);
        }
        let _ = snapshot.can_anywhere(key);
        let _ = snapshot.filter_plan(key);
    }
    let _ = snapshot.effective(&["site:1"], None);
    let _ = snapshot.nav();
    let _ = snapshot.claims();
    for route in ["/", "/miners", "/sites/1/racks", "//x", "/a/b/c/d"] {
        let _ = snapshot.guard(route);
    }
});
