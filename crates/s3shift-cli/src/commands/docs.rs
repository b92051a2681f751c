//! `s3shift completions <shell>` and `s3shift man`: the shell completion scripts and manual pages, made from the
//! same clap definition that parses the command line, so they can never describe flags the binary lacks.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write `s3shift.1` and one page per subcommand (`s3shift-run.1`, ...) into this folder (created if
    /// missing); without it, `s3shift.1` is printed.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Prints the completion script; where to put it is the shell's business (see the README).
pub(crate) fn completions(args: &CompletionsArgs) -> Result<u8> {
    let mut cmd = crate::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "s3shift", &mut out);
    std::io::stdout()
        .lock()
        .write_all(&out)
        .context("writing the completion script to stdout")?;
    Ok(0)
}

/// Writes the manual pages into `--out-dir`, naming each file written on stderr, or prints the main page.
pub(crate) fn man(args: &ManArgs) -> Result<u8> {
    let cmd = crate::Cli::command();
    let Some(dir) = &args.out_dir else {
        let mut out = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut out)
            .context("rendering s3shift.1")?;
        std::io::stdout()
            .lock()
            .write_all(&out)
            .context("writing s3shift.1 to stdout")?;
        return Ok(0);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    clap_mangen::generate_to(cmd, dir)
        .with_context(|| format!("writing manual pages into {}", dir.display()))?;
    let mut pages: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("s3shift") && n.ends_with(".1"))
        .collect();
    pages.sort();
    eprintln!(
        "wrote {} manual pages into {}: {}\nread one with: man -l {}",
        pages.len(),
        dir.display(),
        pages.join(" "),
        dir.join("s3shift.1").display()
    );
    Ok(0)
}
