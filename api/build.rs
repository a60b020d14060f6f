//! Embeds the built web app (`web/dist`, committed beside its source so that
//! a build needs no node) into the binary: writes `assets.rs` into OUT_DIR,
//! one `include_bytes!` per file, and asks cargo to build again whenever
//! anything under `web/dist` changes.

use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let dist = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    collect(&dist, &mut files);
    files.sort();
    let mut out =
        String::from("/// The built web app: (path below web/dist, bytes).\npub static FILES: &[(&str, &[u8])] = &[\n");
    for file in &files {
        let name = file.strip_prefix(&dist).unwrap().to_str().expect("a UTF-8 file name").replace('\\', "/");
        let full = fs::canonicalize(file).unwrap();
        out.push_str(&format!("    ({name:?}, include_bytes!({:?})),\n", full.to_str().unwrap()));
    }
    out.push_str("];\n");
    fs::write(Path::new(&env::var("OUT_DIR").unwrap()).join("assets.rs"), out).unwrap();
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}
