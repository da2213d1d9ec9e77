//! Embeds every built-in rule (`rules/*.yaml`), data list (`rules/data/*.csv`) and the migration
//! plan (`rules/steps.yaml`) into the binary, so the catalogue ships with the tool and is loaded by
//! the same code as a user's `--rules DIR`.

use std::fmt::Write as _;
use std::path::Path;

/// The migration plan's file in `rules/`: data, but not a rule.
const STEPS_FILE: &str = "steps.yaml";

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-changed=rules/data");
    let mut out = String::new();
    for (name, dir, ext) in [("RULE_FILES", "rules", "yaml"), ("DATA_FILES", "rules/data", "csv")] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("rules directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .filter(|p| !p.ends_with(STEPS_FILE))
            .collect();
        files.sort();
        writeln!(out, "/// Embedded `{dir}/*.{ext}`: (file name, contents).").unwrap();
        writeln!(out, "pub static {name}: &[(&str, &str)] = &[").unwrap();
        for f in files {
            println!("cargo:rerun-if-changed={}", f.display());
            let file = f.file_name().unwrap().to_string_lossy().to_string();
            writeln!(out, "    ({file:?}, include_str!({:?})),", f.display().to_string()).unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let steps = root.join("rules").join(STEPS_FILE);
    println!("cargo:rerun-if-changed={}", steps.display());
    writeln!(out, "/// Embedded `rules/{STEPS_FILE}`: the migration plan (not a rule).").unwrap();
    writeln!(out, "pub static STEPS_FILE: &str = include_str!({:?});", steps.display().to_string()).unwrap();
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded_rules.rs");
    std::fs::write(dest, out).unwrap();
}
