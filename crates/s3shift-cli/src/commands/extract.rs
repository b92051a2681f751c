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
    /// Files read at once (default: the number of cores). Output keeps the name order whatever the number.
    #[arg(long, value_name = "N")]
    jobs: Option<std::num::NonZeroUsize>,
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
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n.get(),
    );
    // Files go in batches (bounded memory); each batch is split among `jobs` threads and printed in order.
    for batch in files.chunks(BATCH_FILES) {
        let per_thread = batch.len().div_ceil(jobs).max(1);
        let results: Vec<Result<Vec<Done>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .chunks(per_thread)
                .map(|part| scope.spawn(move || part.iter().map(|p| extract_file(p, &config)).collect()))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("an extraction thread panicked")))
                })
                .collect()
        });
        for part in results {
            for done in part? {
                out.write_all(&done.line)?;
                *by_status.entry(done.status).or_default() += 1;
                bytes_read += done.bytes_read;
                reads += u64::from(done.reads);
                size_total += done.size;
            }
        }
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

/// Files per batch: bounds the output held in memory at once.
const BATCH_FILES: usize = 4096;

/// One file's JSON line and the figures for the summary.
struct Done {
    line: Vec<u8>,
    status: &'static str,
    size: u64,
    reads: u32,
    bytes_read: u64,
}

fn extract_file(path: &Path, config: &ExtractConfig) -> Result<Done> {
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
    let e = extract_with(size, config, read).with_context(|| format!("reading {}", path.display()))?;
    let shown = path.to_string_lossy();
    let mut line = serde_json::to_vec(&Line {
        path: &shown,
        size_bytes: size,
        reads: e.reads,
        record: &e.record,
    })?;
    line.push(b'\n');
    Ok(Done {
        line,
        status: e.record.status.as_str(),
        size,
        reads: e.reads,
        bytes_read: e.record.bytes_read,
    })
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("{}: no such file or directory", path.display()))?;
    if meta.is_file() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<(PathBuf, std::fs::FileType)> = std::fs::read_dir(path)
        .with_context(|| format!("listing {}", path.display()))?
        .map(|e| e.and_then(|e| Ok((e.path(), e.file_type()?))))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("listing {}", path.display()))?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, kind) in entries {
        if kind.is_dir() {
            collect(&p, files)?;
        } else if kind.is_file() || (kind.is_symlink() && p.is_file()) {
            files.push(p);
        }
    }
    Ok(())
}
