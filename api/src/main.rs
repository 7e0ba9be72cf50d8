//! The `rialto` binary: parses the command line and hands over to [`api::cli::run`].

#[tokio::main]
async fn main() -> std::process::ExitCode {
    api::cli::run().await
}
