//! The command line of the `sightline-alerts` binary, as a function so it can be tested in-process.

use crate::{export, AlertConfig, Catalog};
use std::path::PathBuf;

/// What `sightline-alerts` prints when its arguments are wrong.
pub const USAGE: &str = "\
usage: sightline-alerts export --catalog <catalog.json> --out <dir> [--job <name>] [--target <host:port>] [--drill]

  --catalog  the file a sightline service wrote (SIGHTLINE_CATALOG_OUT=path at install, or
             sightline::catalog_json())
  --out      the directory the artefacts are written into (created if needed)
  --job      the Prometheus job, i.e. the service (default: the service name in the catalogue)
  --target   host:port Prometheus scrapes /metrics from (default: 127.0.0.1:3000)
  --drill    drill mode: `for` clauses and windows in seconds, for a live fire drill; never for production";

/// The scrape target when `--target` is not given: the example service's address.
pub const DEFAULT_TARGET: &str = "127.0.0.1:3000";

/// Runs `sightline-alerts` with `args` (without the program name); on success, one line per file
/// written. Every mistake names itself: an unknown option, a missing value, an unreadable catalogue.
pub fn run(args: &[String]) -> Result<Vec<String>, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err("no command given".to_owned());
    };
    if command != "export" {
        return Err(format!(
            "unknown command `{command}`; the command is `export`"
        ));
    }
    let options = Options::parse(rest)?;
    let text = std::fs::read_to_string(&options.catalog)
        .map_err(|e| format!("cannot read {}: {e}", options.catalog.display()))?;
    let catalog =
        Catalog::from_json(&text).map_err(|e| format!("{}: {e}", options.catalog.display()))?;
    let job = match options.job.or_else(|| catalog.service.clone()) {
        Some(job) => job,
        None => {
            return Err(
                "the catalogue names no service (it was written before install()): pass --job"
                    .to_owned(),
            )
        }
    };
    let mut config: AlertConfig = catalog.alert_config(job, options.target);
    config.drill = options.drill;
    let written = export(&options.out, &config, &catalog.objectives)
        .map_err(|e| format!("cannot write into {}: {e}", options.out.display()))?;
    Ok(written
        .iter()
        .map(|path| format!("wrote {}", path.display()))
        .collect())
}

struct Options {
    catalog: PathBuf,
    out: PathBuf,
    job: Option<String>,
    target: String,
    drill: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let (mut catalog, mut out, mut job, mut target, mut drill) =
            (None, None, None, None, false);
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("`{arg}` needs a value"))
            };
            match arg.as_str() {
                "--catalog" => catalog = Some(PathBuf::from(value()?)),
                "--out" => out = Some(PathBuf::from(value()?)),
                "--job" => job = Some(value()?),
                "--target" => target = Some(value()?),
                "--drill" => drill = true,
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        Ok(Options {
            catalog: catalog.ok_or("`--catalog <catalog.json>` is required")?,
            out: out.ok_or("`--out <dir>` is required")?,
            job,
            target: target.unwrap_or_else(|| DEFAULT_TARGET.to_owned()),
            drill,
        })
    }
}
