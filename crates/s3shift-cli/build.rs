//! Gives the `s3shift` binary the runtime search path (rpath) of DuckDB's library when it is built with the
//! stand-ins (`local`), so that `target/release/s3shift demo` runs outside `cargo run` as well. s3shift-local's
//! build script provides the library and names its folder (`DEP_S3SHIFT_DUCKDB_LIB_DIR`); with
//! `bundled-duckdb`, or without `local`, there is nothing to point at.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_S3SHIFT_DUCKDB_LIB_DIR");
    if let Some(dir) = std::env::var_os("DEP_S3SHIFT_DUCKDB_LIB_DIR") {
        println!(
            "cargo:rustc-link-arg=-Wl,-rpath,{}",
            std::path::Path::new(&dir).display()
        );
    }
}
