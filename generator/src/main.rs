//! The `openapi-operator-gen` binary: parse arguments, merge the config file, run `generate`
//! (write or `--check`) or `plan`, and report progress, warnings and a summary on stderr.

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};
use openapi_operator_gen::cli::{self, Action, Cli, ResolveError};
use openapi_operator_gen::{Config, classify, parse, plan, write};

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    let action = match cli::resolve(cli, &matches) {
        Ok(action) => action,
        Err(ResolveError::Missing(what)) => Cli::command()
            .error(
                ErrorKind::MissingRequiredArgument,
                format!("the following required setting was not provided: {what}"),
            )
            .exit(),
        Err(ResolveError::Invalid(err)) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    match run(action) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn load(config: &Config) -> anyhow::Result<openapi_operator_gen::model::Model> {
    config.validate()?;
    let progress = !config.quiet;
    let spec = parse::load(&config.spec)?;
    if progress {
        eprintln!(
            "parsed {}: {}",
            spec.file,
            plural(spec.openapi.paths.paths.len(), "path")
        );
    }
    let model = classify::classify(&spec, config)?;
    // The parsed spec (the document twice: JSON and typed) is not needed any more: freed on
    // another thread while the files are emitted.
    drop(std::thread::Builder::new().spawn(move || drop(spec)));
    if progress {
        eprintln!(
            "classified: {}, {} unclassified, {} filtered",
            plural(model.crds.len(), "kind"),
            model.unclassified.len(),
            model.filtered.len()
        );
    }
    Ok(model)
}

fn run(action: Action) -> anyhow::Result<ExitCode> {
    match action {
        Action::Plan { config } => {
            let model = load(&config)?;
            for w in model.warnings.iter().filter(|_| !config.quiet) {
                eprintln!("warning: {w}");
            }
            print!("{}", plan::render(&model));
            Ok(ExitCode::SUCCESS)
        }
        Action::Generate { config, check, force } => {
            let model = load(&config)?;
            let progress = !config.quiet;
            if progress {
                eprint!("{}", openapi_operator_gen::report(&model));
            }
            let files = openapi_operator_gen::emit(&model, &config)?;
            if progress {
                eprintln!("rendered {}", plural(files.len(), "file"));
            }
            let output = config.output.display();
            if check {
                let changes = write::changes(&write::with_manifest(&files), &config.output)?;
                for (verb, list) in [
                    ("create", &changes.create),
                    ("change", &changes.change),
                    ("remove", &changes.remove),
                ] {
                    for path in list {
                        println!("{verb} {path}");
                    }
                }
                if !changes.not_owned.is_empty() {
                    eprintln!(
                        "note: without an @generated header (a real run needs --force): {}",
                        changes.not_owned.join(", ")
                    );
                }
                let differing = changes.create.len() + changes.change.len() + changes.remove.len();
                if differing == 0 {
                    if progress {
                        eprintln!("{output}: up to date ({})", plural(changes.unchanged, "file"));
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                eprintln!(
                    "{output}: {} out of date; run without --check to update",
                    plural(differing, "file")
                );
                return Ok(ExitCode::FAILURE);
            }
            let summary = write::write_with(&files, &config.output, write::WriteOptions { force })?;
            if progress {
                let removed = if summary.removed.is_empty() {
                    String::new()
                } else {
                    format!(", {} removed", summary.removed.len())
                };
                eprintln!(
                    "{output}: {}, {} ({} written, {} unchanged{removed}), {}",
                    plural(model.crds.len(), "kind"),
                    plural(summary.written.len() + summary.unchanged, "file"),
                    summary.written.len(),
                    summary.unchanged,
                    plural(model.warnings.len(), "warning")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
