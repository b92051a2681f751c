//! `s3shift extract`: the extractor over local files, with the same growth protocol the S3 reader follows.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use s3shift_extract::{ByteRange, ExtractConfig, ImageRecord, extract_with};
use serde::Serialize;

use crate::EXIT_PARTIAL;

#[derive(Debug, Args)]
pub(crate) struct ExtractArgs {
    /// Files or directories (searched recursively, in name order).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Start from an N-byte prefix and follow the growth protocol, as the S3 reader does (e.g. 131072).
    /// Without it, each file is read whole.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    prefix_bytes: Option<u64>,
    /// With --prefix-bytes: least bytes per further read.
    #[arg(long, value_name = "N", default_value_t = ExtractConfig::DEFAULT_GROW_BYTES,
          value_parser = clap::value_parser!(u64).range(1..))]
    grow_bytes: u64,
    /// With --prefix-bytes: most bytes read per file; past it the file is reported truncated.
    #[arg(long, value_name = "N", default_value_t = ExtractConfig::DEFAULT_MAX_BYTES,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_bytes: u64,
}

#[derive(Serialize)]
struct Line<'a> {
    path: &'a str,
    size_bytes: u64,
    reads: u32,
    #[serde(flatten)]
    record: &'a ImageRecord,
}

pub(crate) fn run(args: &ExtractArgs) -> Result<u8> {
    let config = match args.prefix_bytes {
        Some(first) => ExtractConfig {
            first_read_bytes: first,
            grow_bytes: args.grow_bytes,
            max_bytes: args.max_bytes,
        },
        None => ExtractConfig {
            first_read_bytes: u64::MAX,
            grow_bytes: args.grow_bytes,
            max_bytes: u64::MAX,
        },
    };
    let mut files = Vec::new();
    for p in &args.paths {
        collect(p, &mut files)?;
    }
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut by_status: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut bytes_read, mut reads, mut size_total) = (0u64, 0u64, 0u64);
    for path in &files {
        let (size, extraction) = extract_file(path, &config)?;
        let shown = path.to_string_lossy();
        let line = Line {
            path: &shown,
            size_bytes: size,
            reads: extraction.reads,
            record: &extraction.record,
        };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
        *by_status.entry(extraction.record.status.as_str()).or_default() += 1;
        bytes_read += extraction.record.bytes_read;
        reads += u64::from(extraction.reads);
        size_total += size;
    }
    out.flush()?;
    let secs = started.elapsed().as_secs_f64();
    let n = files.len() as u64;
    let statuses: Vec<String> = by_status.iter().map(|(s, c)| format!("{s}={c}")).collect();
    eprintln!(
        "s3shift extract: {n} files ({}), read {bytes_read} of {size_total} bytes in {reads} reads \
         ({:.3} reads/file), {secs:.3}s, {:.0} files/s",
        statuses.join(" "),
        if n > 0 { reads as f64 / n as f64 } else { 0.0 },
        if secs > 0.0 { n as f64 / secs } else { 0.0 },
    );
    let failed =
        by_status.get("corrupt").copied().unwrap_or(0) + by_status.get("truncated").copied().unwrap_or(0);
    Ok(if failed > 0 { EXIT_PARTIAL } else { 0 })
}

fn extract_file(path: &Path, config: &ExtractConfig) -> Result<(u64, s3shift_extract::Extraction)> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = file
        .metadata()
        .with_context(|| format!("reading the size of {}", path.display()))?
        .len();
    let read = |r: ByteRange| -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0u8; r.len() as usize];
        let mut filled = 0;
        while filled < buf.len() {
            let n = file.read_at(&mut buf[filled..], r.start + filled as u64)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        Ok(buf)
    };
    let extraction =
        extract_with(size, config, read).with_context(|| format!("reading {}", path.display()))?;
    Ok((size, extraction))
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("{}: no such file or directory", path.display()))?;
    if meta.is_file() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("listing {}", path.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("listing {}", path.display()))?;
    entries.sort();
    for e in entries {
        if e.is_dir() {
            collect(&e, files)?;
        } else if e.is_file() {
            files.push(e);
        }
    }
    Ok(())
}
