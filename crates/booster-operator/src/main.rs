//! The `booster` binary: the operator (`run`) and the offline commands `render`, `validate` and `crds`.

mod controller;
mod crds;
mod http;
mod input;
mod leader;
mod logging;
mod metrics;
mod offline;
mod run;
mod settings;
mod shutdown;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "booster", version, about = "ModelBooster operator and offline tools for Kthena model serving")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a subcommand, `booster` runs the operator with these settings.
    #[command(flatten)]
    run: settings::RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the operator (the default): reconcile ModelBoosters into their children.
    Run(settings::RunArgs),
    /// Validate and render ModelBoosters into their children (ModelServing, ModelServer, ModelRoute, autoscaling).
    Render {
        /// File with one or more ModelBooster documents; `-` reads standard input.
        #[arg(short = 'f', long = "filename", value_name = "FILE")]
        file: PathBuf,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Yaml)]
        output: OutputFormat,
        /// Render even if validation fails (errors of rendering itself still fail).
        #[arg(long)]
        no_validate: bool,
        /// Image of the model and LoRA downloader init containers.
        #[arg(long, env = "MODEL_BOOSTER_DOWNLOADER_IMAGE", default_value = booster_render::DEFAULT_DOWNLOADER_IMAGE)]
        downloader_image: String,
        /// Image of the runtime sidecar.
        #[arg(long, env = "MODEL_BOOSTER_RUNTIME_IMAGE", default_value = booster_render::DEFAULT_RUNTIME_IMAGE)]
        runtime_image: String,
    },
    /// Validate ModelBoosters offline: exit 0 if all are valid, 1 if any is invalid, 2 if the input cannot be read.
    Validate {
        /// File with one or more ModelBooster documents; `-` reads standard input.
        #[arg(short = 'f', long = "filename", value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the ModelBooster CRD (and with --all the five Kthena child CRDs, for clusters without Kthena).
    Crds {
        /// Also print the CRDs of ModelServing, ModelServer, ModelRoute, AutoscalingPolicy, AutoscalingPolicyBinding.
        #[arg(long)]
        all: bool,
    },
}

/// Output format of `render`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// A multi-document YAML stream.
    Yaml,
    /// One JSON list.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => operator(cli.run),
        Some(Command::Run(args)) => operator(args),
        Some(command) => offline_command(command),
    }
}

/// `booster run`: the operator on a multi-threaded runtime; exit status 0 after a graceful shutdown, 1 on errors.
fn operator(args: settings::RunArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if tracing::dispatcher::has_been_set() {
                tracing::error!("{error:#}");
            } else {
                eprintln!("error: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn offline_command(command: Command) -> ExitCode {
    match command {
        Command::Run(_) => ExitCode::FAILURE,
        Command::Render { file, output, no_validate, downloader_image, runtime_image } => {
            let settings = booster_render::Settings {
                downloader_image: settings::non_empty_or(&downloader_image, booster_render::DEFAULT_DOWNLOADER_IMAGE),
                runtime_image: settings::non_empty_or(&runtime_image, booster_render::DEFAULT_RUNTIME_IMAGE),
            };
            offline::render(&file, output == OutputFormat::Json, !no_validate, &settings)
        }
        Command::Validate { file } => offline::validate(&file),
        Command::Crds { all } => offline::crds(all),
    }
}
