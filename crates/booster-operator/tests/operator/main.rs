//! Integration tests of `booster run` on the real control plane (`cargo xtask test`): each test starts the real
//! binary as a subprocess watching its own namespace and checks what it does through the API server.
//!
//! Without a configured control plane the tests are skipped with one line (they fail instead under `CI` or
//! `cargo xtask test`). Every test holds [`support::shared`] except the steady-state test, which counts the API
//! server's write requests and so holds [`support::exclusive`].

mod create_and_delete;
mod drift;
mod invalid;
mod leader_election;
mod replicas;
mod shutdown;
mod status;
mod steady_state;
mod support;
mod updates;

/// Connects and creates the test's namespace, or returns `Ok(())` from the test (skipped; the line was printed).
#[macro_export]
macro_rules! env {
    ($test:expr) => {
        match $crate::support::Env::new($test).await? {
            Some(env) => env,
            None => return Ok(()),
        }
    };
}
