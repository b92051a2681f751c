//! Provides DuckDB's library to the warehouse stand-in without compiling DuckDB.
//!
//! Compiling DuckDB's C++ (about 300 unity files) was most of a cold build: about half an hour on two cores.
//! DuckDB Labs publishes its release library, `libduckdb`, in the npm packages `@duckdb/node-bindings-<platform>`
//! (the C API the Node.js client and duckdb-rs both use). This script fetches the tarball of the pinned version
//! from the npm registry once per target folder, checks its SHA-512 against the digest pinned below (the
//! registry's own `dist.integrity`), and unpacks the library beside the build. `libduckdb-sys` (without its
//! `bundled` feature) asks the linker for `-lduckdb`; this script adds the folder to the search path, to the
//! runtime search path (rpath) of this package's tests and benches, and tells dependents where it is through
//! the `links` metadata (`DEP_S3SHIFT_DUCKDB_LIB_DIR`), so the `s3shift` binary carries the same rpath.
//!
//! Choices, in order:
//! - `--features bundled-duckdb`: DuckDB is compiled from source by `libduckdb-sys`; nothing is fetched.
//! - `DUCKDB_LIB_DIR` set: `libduckdb-sys` links the library found there; nothing is fetched.
//! - otherwise the pinned npm package, from `S3SHIFT_NPM_REGISTRY` (default `https://registry.npmjs.org`, for a
//!   mirror) into `<cache>/<version>-<platform>/`, where `<cache>` is `S3SHIFT_DUCKDB_CACHE` (an absolute path)
//!   when set, else the user's cache folder (`$XDG_CACHE_HOME/s3shift/duckdb`, or `$HOME/.cache/s3shift/duckdb`),
//!   else `<target>/duckdb`. Outside the target folder, so that a binary outlives the build that made it:
//!   `cargo install` builds in a temporary target folder it then deletes, and the binary's rpath names this
//!   folder (s3shift-cli's build script also adds `$ORIGIN` and `$ORIGIN/../lib`, for a binary copied with the
//!   library beside it).
//!
//! It needs `curl` and `tar`, and fails with a message that names the three ways out.

use std::env;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha512};

/// The npm version of `@duckdb/node-bindings-*` whose library matches the `libduckdb-sys` pinned in the
/// workspace (`=1.10506.1`, DuckDB 1.5.6). Change both together.
const NPM_VERSION: &str = "1.5.6-r.1";

/// One platform's package: the Rust target it serves, the npm platform name, the library's file name, and the
/// tarball's SHA-512 (hex of the registry's `dist.integrity`, read with `npm view <package>@<version> dist`).
struct Prebuilt {
    target: &'static str,
    platform: &'static str,
    library: &'static str,
    sha512: &'static str,
}

const PREBUILT: &[Prebuilt] = &[
    Prebuilt {
        target: "x86_64-unknown-linux-gnu",
        platform: "linux-x64",
        library: "libduckdb.so",
        sha512: "21772b64913a904a8cd19e30c1d5671811d7fdface4b7dd53cd0300d743f43e1\
                 6cf386f4e7c41ef78721ac208870d2651bc6375072145387817824315b998dd5",
    },
    Prebuilt {
        target: "aarch64-unknown-linux-gnu",
        platform: "linux-arm64",
        library: "libduckdb.so",
        sha512: "de39d46838a5d41ac5ffabc067055a227275c6805a5861c1e0f0e2527cc958a0\
                 a8f1af132f1f63eff80fc8f97f5064417edad822e4e28516527c5e2658c82d58",
    },
    Prebuilt {
        target: "aarch64-apple-darwin",
        platform: "darwin-arm64",
        library: "libduckdb.dylib",
        sha512: "2854ff27fa72a2eb800f58dfb4021f716551768ae0f9cff2551fc124bf0b24aa\
                 d24fe9980b877b412b90fa25d261b1691c435401e6546a05eb30fb594fc5f3b2",
    },
    Prebuilt {
        target: "x86_64-apple-darwin",
        platform: "darwin-x64",
        library: "libduckdb.dylib",
        sha512: "b55c1464dbdd42868f261ae1dead9eea3c66d4c85a84d1c940afe9bc2c9ca38e\
                 8d5f4984b86ce5c3d8b49f6300ae0b32cdc71d0b049c38af5cb5bcabfb7a0c6d",
    },
];

const WAYS_OUT: &str = "Ways out: let this machine reach the npm registry (or name a mirror in \
    S3SHIFT_NPM_REGISTRY); or set DUCKDB_LIB_DIR to a folder holding DuckDB 1.5.6's libduckdb; or build with \
    `--features s3shift-cli/bundled-duckdb` (this crate's `bundled-duckdb`) to compile DuckDB from source (about \
    half an hour on two cores).";

fn main() {
    if let Err(message) = run() {
        eprintln!("error: s3shift-local could not provide DuckDB's library: {message}\n{WAYS_OUT}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    println!("cargo:rerun-if-changed=build.rs");
    for name in [
        "DUCKDB_LIB_DIR",
        "S3SHIFT_NPM_REGISTRY",
        "S3SHIFT_DUCKDB_CACHE",
        "XDG_CACHE_HOME",
        "HOME",
    ] {
        println!("cargo:rerun-if-env-changed={name}");
    }
    if env::var_os("CARGO_FEATURE_BUNDLED_DUCKDB").is_some() {
        return Ok(());
    }
    if let Some(dir) = env::var_os("DUCKDB_LIB_DIR") {
        // libduckdb-sys links from there; carry the folder to the loader as well.
        announce(Path::new(&dir));
        return Ok(());
    }
    let target = env::var("TARGET").map_err(|_| "cargo did not set TARGET".to_owned())?;
    let prebuilt = PREBUILT
        .iter()
        .find(|p| p.target == target)
        .ok_or_else(|| format!("the npm registry has no prebuilt DuckDB for the target {target}"))?;
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("cargo did not set OUT_DIR")?);
    let user_cache = || {
        env::var_os("XDG_CACHE_HOME")
            .filter(|d| Path::new(d).is_absolute())
            .map(PathBuf::from)
            .or_else(|| {
                env::var_os("HOME")
                    .filter(|d| Path::new(d).is_absolute())
                    .map(|h| PathBuf::from(h).join(".cache"))
            })
            .map(|c| c.join("s3shift").join("duckdb"))
    };
    let folder = match env::var_os("S3SHIFT_DUCKDB_CACHE") {
        Some(cache) => PathBuf::from(cache),
        None => user_cache().unwrap_or_else(|| target_folder(&out_dir).join("duckdb")),
    }
    .join(format!("{NPM_VERSION}-{}", prebuilt.platform));
    if !folder.join(prebuilt.library).is_file() {
        fetch(prebuilt, &folder)?;
    }
    println!("cargo:rustc-link-search=native={}", folder.display());
    announce(&folder);
    Ok(())
}

/// The rpath for this package's tests and benches, and the folder for dependents' build scripts.
fn announce(folder: &Path) {
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", folder.display());
    println!("cargo:lib_dir={}", folder.display());
}

/// `<target>/<profile>/build/<package>-<hash>/out` → `<target>` (or `<target>/<triple>`), shared by every
/// profile; `OUT_DIR` itself when the layout is not that one.
fn target_folder(out_dir: &Path) -> PathBuf {
    let mut ancestors = out_dir.ancestors();
    match (ancestors.nth(2), ancestors.nth(1)) {
        (Some(build), Some(root)) if build.file_name().is_some_and(|n| n == "build") => root.to_path_buf(),
        _ => out_dir.to_path_buf(),
    }
}

/// Downloads the package, checks its digest, and moves the library and DuckDB's licence into `folder`.
fn fetch(prebuilt: &Prebuilt, folder: &Path) -> Result<(), String> {
    let registry =
        env::var("S3SHIFT_NPM_REGISTRY").unwrap_or_else(|_| "https://registry.npmjs.org".to_owned());
    let package = format!("node-bindings-{}", prebuilt.platform);
    let url = format!(
        "{}/@duckdb/{package}/-/{package}-{NPM_VERSION}.tgz",
        registry.trim_end_matches('/')
    );
    // Staged inside the folder, so that the moves below are renames on one file system; removed whatever happens.
    let staging = folder.join(format!(".download-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(|e| format!("creating {}: {e}", staging.display()))?;
    let result = fetch_into(prebuilt, &url, &package, &staging, folder);
    let _ = fs::remove_dir_all(&staging);
    result
}

fn fetch_into(
    prebuilt: &Prebuilt,
    url: &str,
    package: &str,
    staging: &Path,
    folder: &Path,
) -> Result<(), String> {
    let tarball = staging.join(format!("{package}-{NPM_VERSION}.tgz"));

    let status = Command::new("curl")
        .args([
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--retry",
            "3",
            "--connect-timeout",
            "30",
        ])
        .arg("--output")
        .arg(&tarball)
        .arg(url)
        .status()
        .map_err(|e| format!("running curl to fetch {url}: {e}"))?;
    if !status.success() {
        return Err(format!("curl could not fetch {url} ({status})"));
    }

    let digest = sha512_hex(&tarball)?;
    if digest != prebuilt.sha512 {
        return Err(format!(
            "{url} does not have the pinned SHA-512 (got {digest}, pinned {}); nothing was unpacked",
            prebuilt.sha512
        ));
    }

    let library = format!("package/{}", prebuilt.library);
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(staging)
        .args([library.as_str(), "package/LICENSE"])
        .status()
        .map_err(|e| format!("running tar on {}: {e}", tarball.display()))?;
    if !status.success() {
        return Err(format!(
            "tar could not unpack {library} from {} ({status})",
            tarball.display()
        ));
    }

    // The licence first and the library last, each by rename: a folder holding the library is complete, even
    // when two builds fetch at once.
    for (from, to) in [
        ("LICENSE", "LICENSE-duckdb"),
        (prebuilt.library, prebuilt.library),
    ] {
        let from = staging.join("package").join(from);
        let to = folder.join(to);
        fs::rename(&from, &to).map_err(|e| format!("moving {} to {}: {e}", from.display(), to.display()))?;
    }
    Ok(())
}

fn sha512_hex(path: &Path) -> Result<String, String> {
    let mut file = fs::File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    let mut hasher = Sha512::new();
    let mut buffer = vec![0_u8; 1 << 20];
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}
