//! The `rialto` binary: parses the command line and hands over to [`api::cli::run`].

/// mimalloc instead of glibc's allocator: a GraphQL gateway allocates and frees many small
/// JSON values per request from several threads, where glibc's malloc measured about a
/// quarter of the gateway's CPU under load (see BENCHMARKS.md, section 4).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    api::cli::run().await
}
