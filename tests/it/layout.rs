//! Keeps the one-binary layout honest: with `autotests = false`, Cargo compiles only
//! `tests/it/main.rs` and the modules it declares, so a test file dropped anywhere else under
//! `tests/`, or not declared in `main.rs`, would silently never run.

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn every_test_file_is_compiled() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let stray: Vec<String> = std::fs::read_dir(&tests)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "it")
        .collect();
    assert!(
        stray.is_empty(),
        "tests/{stray:?} would not be compiled (autotests = false): integration tests now live in \
         tests/it/<module>.rs, registered with `mod <module>;` in tests/it/main.rs"
    );
    let main = std::fs::read_to_string(tests.join("it/main.rs")).unwrap();
    let declared: BTreeSet<String> =
        main.lines().filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';').map(str::to_string)).collect();
    let files: BTreeSet<String> = std::fs::read_dir(tests.join("it"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            match name.strip_suffix(".rs") {
                Some("main") => None,
                Some(m) => Some(m.to_string()),
                None if is_dir && name != "snapshots" => Some(name),
                None => None,
            }
        })
        .collect();
    let missing: Vec<&String> = files.difference(&declared).collect();
    assert!(missing.is_empty(), "tests/it/{missing:?} not declared with `mod` in tests/it/main.rs");
}
