//! The flags and environment variables of `booster run` (spec §5.1).

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// Settings of the operator; every flag can also be set through its environment variable.
#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    /// Image of all downloader init containers (empty: the default).
    #[arg(long, env = "MODEL_BOOSTER_DOWNLOADER_IMAGE", default_value = booster_render::DEFAULT_DOWNLOADER_IMAGE)]
    pub downloader_image: String,
    /// Image of every runtime container (empty: the default).
    #[arg(long, env = "MODEL_BOOSTER_RUNTIME_IMAGE", default_value = booster_render::DEFAULT_RUNTIME_IMAGE)]
    pub runtime_image: String,
    /// ModelBoosters reconciled in parallel (never two passes of one object at once).
    #[arg(long, env = "MODEL_BOOSTER_WORKERS", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: u16,
    /// Restrict every watch to this namespace (default: all namespaces).
    #[arg(long, env = "MODEL_BOOSTER_WATCH_NAMESPACE", value_name = "NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// Requeue a ModelBooster this long after a successful pass (Go duration, e.g. `10m`, `1m30s`).
    #[arg(long, env = "MODEL_BOOSTER_RESYNC_INTERVAL", default_value = "10m", value_parser = parse_duration)]
    pub resync_interval: Duration,
    /// Run the controller only while holding the leader-election Lease.
    #[arg(
        long,
        env = "MODEL_BOOSTER_LEADER_ELECT",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
    )]
    pub leader_elect: bool,
    /// Name of the leader-election Lease.
    #[arg(long, env = "MODEL_BOOSTER_LEADER_ELECTION_ID", default_value = "model-booster")]
    pub leader_election_id: String,
    /// Namespace of the leader-election Lease (default: the service account's namespace in a cluster, else
    /// `default`).
    #[arg(long, env = "POD_NAMESPACE", value_name = "NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// Address of the metrics and health endpoints.
    #[arg(long, env = "MODEL_BOOSTER_HTTP_BIND_ADDRESS", default_value = "0.0.0.0:8080")]
    pub http_bind_address: SocketAddr,
    /// How long running passes may take to finish after SIGTERM or SIGINT (Go duration).
    #[arg(long, env = "MODEL_BOOSTER_SHUTDOWN_TIMEOUT", default_value = "25s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
    /// Log format; the level comes from `RUST_LOG` (default `info`).
    #[arg(long, env = "MODEL_BOOSTER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Format of the log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where the service account's namespace is mounted in a pod.
const SERVICE_ACCOUNT_NAMESPACE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

impl RunArgs {
    /// The settings that shape the children; an empty image means the default.
    pub fn render_settings(&self) -> booster_render::Settings {
        booster_render::Settings {
            downloader_image: non_empty_or(&self.downloader_image, booster_render::DEFAULT_DOWNLOADER_IMAGE),
            runtime_image: non_empty_or(&self.runtime_image, booster_render::DEFAULT_RUNTIME_IMAGE),
        }
    }

    /// The namespace of the Lease: the flag, else the service account's namespace in a cluster, else `default`.
    pub fn lease_namespace(&self) -> String {
        if let Some(namespace) = self.leader_election_namespace.as_deref().filter(|ns| !ns.trim().is_empty()) {
            return namespace.to_owned();
        }
        match std::fs::read_to_string(SERVICE_ACCOUNT_NAMESPACE) {
            Ok(namespace) if !namespace.trim().is_empty() => namespace.trim().to_owned(),
            _ => "default".to_owned(),
        }
    }

    /// The watched namespace, if restricted (an empty value means all namespaces).
    pub fn watch_namespace(&self) -> Option<&str> {
        self.watch_namespace.as_deref().filter(|ns| !ns.trim().is_empty())
    }
}

/// An empty image setting means the default (as the reference's ConfigMap keys).
pub fn non_empty_or(value: &str, default: &str) -> String {
    if value.trim().is_empty() { default.to_owned() } else { value.to_owned() }
}

/// A Go duration (`10m`, `1m30s`, `1.5h`, `250ms`), or a humantime one (`10min`, `1h 30m`); not negative.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match booster_render::validate::duration::parse(text.trim()) {
        Ok(nanos) => u64::try_from(nanos)
            .map(Duration::from_nanos)
            .map_err(|_| format!("{text:?} is negative; a duration must not be")),
        Err(go) => humantime::parse_duration(text.trim())
            .map_err(|_| format!("{text:?} is not a duration ({go}); write e.g. 10m, 1m30s, 25s or 500ms")),
    }
}

/// Identity of this process towards the cluster: `POD_NAME`, else the host name.
pub fn instance_name() -> String {
    std::env::var("POD_NAME")
        .ok()
        .filter(|name| !name.trim().is_empty())
        .or_else(|| hostname::get().ok().map(|name| name.to_string_lossy().into_owned()))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "model-booster".to_owned())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(args: &[&str]) -> Result<RunArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("booster").chain(args.iter().copied())).map(|cli| cli.run)
    }

    #[test]
    fn defaults_are_the_spec_table() -> Result<(), clap::Error> {
        let args = parse(&[])?;
        assert_eq!(args.render_settings(), booster_render::Settings::default());
        assert_eq!(args.workers, 5);
        assert_eq!(args.watch_namespace(), None);
        assert_eq!(args.resync_interval, Duration::from_secs(600));
        assert!(args.leader_elect);
        assert_eq!(args.leader_election_id, "model-booster");
        assert_eq!(args.http_bind_address, SocketAddr::from(([0, 0, 0, 0], 8080)));
        assert_eq!(args.shutdown_timeout, Duration::from_secs(25));
        assert_eq!(args.log_format, LogFormat::Text);
        Ok(())
    }

    #[test]
    fn flags_override_the_defaults() -> Result<(), clap::Error> {
        let args = parse(&[
            "--downloader-image=",
            "--runtime-image",
            "r:1",
            "--workers",
            "2",
            "--watch-namespace",
            "ns",
            "--resync-interval",
            "1m30s",
            "--leader-elect=false",
            "--leader-election-id",
            "x",
            "--leader-election-namespace",
            "lease-ns",
            "--http-bind-address",
            "127.0.0.1:9",
            "--shutdown-timeout",
            "5s",
            "--log-format",
            "json",
        ])?;
        assert_eq!(args.render_settings().downloader_image, booster_render::DEFAULT_DOWNLOADER_IMAGE);
        assert_eq!(args.render_settings().runtime_image, "r:1");
        assert_eq!((args.workers, args.watch_namespace()), (2, Some("ns")));
        assert_eq!(args.resync_interval, Duration::from_secs(90));
        assert!(!args.leader_elect);
        assert_eq!((args.leader_election_id.as_str(), args.lease_namespace().as_str()), ("x", "lease-ns"));
        assert_eq!(args.http_bind_address.port(), 9);
        assert_eq!(args.shutdown_timeout, Duration::from_secs(5));
        assert_eq!(args.log_format, LogFormat::Json);
        assert!(parse(&["--leader-elect"])?.leader_elect);
        assert!(parse(&["--workers", "0"]).is_err());
        assert!(parse(&["--log-format", "yaml"]).is_err());
        Ok(())
    }

    #[test]
    fn durations_in_go_and_humantime_style() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("10min"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("10").is_err());
    }

    #[test]
    fn empty_images_mean_the_defaults() {
        assert_eq!(non_empty_or(" ", "d"), "d");
        assert_eq!(non_empty_or("x", "d"), "x");
    }
}
