//! Gives the `s3shift` binary the runtime search path (rpath) of DuckDB's library when it is built with the
//! stand-ins (`local`), so that `target/release/s3shift demo` runs outside `cargo run` as well, and so does a
//! binary `cargo install` left (the library stays in the user's cache, see s3shift-local's build script) or one
//! copied with `libduckdb` beside it. s3shift-local's
//! build script provides the library and names its folder (`DEP_S3SHIFT_DUCKDB_LIB_DIR`); with
//! `bundled-duckdb`, or without `local`, there is nothing to point at.
//!
//! Also names the commit the binary is built from (`S3SHIFT_COMMIT`, shown by `--version`): the variable when
//! the build sets it (an image build without `.git`), else CodeBuild's `CODEBUILD_RESOLVED_SOURCE_VERSION`, else
//! `git rev-parse`, else `unknown`.

fn commit() -> String {
    for var in ["S3SHIFT_COMMIT", "CODEBUILD_RESOLVED_SOURCE_VERSION"] {
        println!("cargo:rerun-if-env-changed={var}");
        if let Ok(v) = std::env::var(var)
            && !v.trim().is_empty()
        {
            return v.trim().chars().take(12).collect();
        }
    }
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    // Built again when HEAD moves (a commit, a checkout).
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/refs/heads");
    }
    git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into())
}

fn main() {
    println!("cargo:rustc-env=S3SHIFT_COMMIT={}", commit());
    println!("cargo:rerun-if-env-changed=DEP_S3SHIFT_DUCKDB_LIB_DIR");
    if let Some(dir) = std::env::var_os("DEP_S3SHIFT_DUCKDB_LIB_DIR") {
        println!(
            "cargo:rustc-link-arg=-Wl,-rpath,{}",
            std::path::Path::new(&dir).display()
        );
        // A binary copied elsewhere finds the library beside it, or in ../lib (the usual prefix layout).
        let origin = if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
            "@loader_path"
        } else {
            "$ORIGIN"
        };
        println!("cargo:rustc-link-arg=-Wl,-rpath,{origin}:{origin}/../lib");
    }
}
