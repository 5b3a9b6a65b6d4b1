/// mimalloc instead of the system allocator: a long-running `writ serve` or `writ lsp`
/// allocates and frees many small objects per request (HTTP buffers, JSON trees); glibc's
/// allocator spent about a fifth of the server's time doing it (BENCHMARKS.md, "HTTP
/// decision point").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    writ_cli::main()
}
