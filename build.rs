//! Embeds every built-in rule (`rules/*.yaml`) and data list (`rules/data/*.csv`) into the binary,
//! so the catalogue ships with the tool and is loaded by the same code as a user's `--rules DIR`.

use std::fmt::Write as _;
use std::path::Path;

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
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded_rules.rs");
    std::fs::write(dest, out).unwrap();
}
