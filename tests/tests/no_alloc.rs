//! `check` is the hot path: it must not allocate, with a string key or a
//! permission handle, whatever path it is given (docs/decisions.md §2; issue 2 item 4).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test setup fails loudly"
)]

use tessera_tests::{load_file, open_snapshot, repo_root};

#[test]
fn check_does_not_allocate() {
    let file = load_file(&repo_root().join("tests/vectors/fleet_narrowing.json")).unwrap();
    let manifest = tessera_core::Manifest::from_toml(&file.manifest_toml).unwrap();
    let case = &file.vectors.cases[0];
    let snapshot = open_snapshot(&manifest, &file.vectors.facts, case).unwrap();
    let reboot = snapshot.permission("miner:reboot").unwrap();
    let paths: [&[&str]; 5] = [
        &["site:1", "rack:1", "miner:11"],
        &["site:2", "rack:9", "miner:x"],
        &[],
        &["bad key"],
        &["site:2", "rack:1"],
    ];
    let mut allowed = 0;
    let counted = allocation_counter::measure(|| {
        for path in paths {
            allowed += usize::from(
                snapshot
                    .check("miner:reboot", path, Some("alice"))
                    .is_allow(),
            );
            allowed += usize::from(snapshot.check_permission(reboot, path, None).is_allow());
            allowed += usize::from(snapshot.check("no:such", path, None).is_allow());
            let text = "site:1,rack:1,miner:11";
            allowed += usize::from(snapshot.check_text("miner:reboot", text, None).is_allow());
            allowed += usize::from(
                snapshot
                    .check_permission_text(reboot, text, None)
                    .is_allow(),
            );
        }
    });
    assert_eq!(counted.count_total, 0, "check allocated {counted:?}");
    assert!(allowed > 0, "the measured checks must include an allow");
}
