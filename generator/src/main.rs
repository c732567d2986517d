//! The `openapi-operator-gen` binary: parse arguments, run the library pipeline, report.

use std::process::ExitCode;

use clap::Parser;
use openapi_operator_gen::cli::Args;

fn main() -> ExitCode {
    let config = Args::parse().into_config();
    match run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: &openapi_operator_gen::Config) -> anyhow::Result<()> {
    let generated = openapi_operator_gen::generate(config)?;
    if !config.quiet {
        eprint!("{}", openapi_operator_gen::report(&generated.model));
    }
    let summary = openapi_operator_gen::write::write(&generated.files, &config.output)?;
    if !config.quiet {
        eprintln!(
            "{} ({} kinds): {} files written, {} unchanged",
            config.output.display(),
            generated.model.crds.len(),
            summary.written.len(),
            summary.unchanged
        );
    }
    Ok(())
}
