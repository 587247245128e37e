//! `sightline-alerts export --catalog catalog.json --out observability/`: the artefacts of a service,
//! from the catalogue it wrote, without adding a subcommand to the service.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match sightline_alerts::cli::run(&args) {
        Ok(written) => {
            for line in written {
                eprintln!("{line}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "sightline-alerts: {error}\n\n{}",
                sightline_alerts::cli::USAGE
            );
            std::process::ExitCode::from(2)
        }
    }
}
