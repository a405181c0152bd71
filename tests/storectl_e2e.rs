//! `storectl` as the end-to-end tests run it: the same program as the `storectl` binary.

fn main() -> std::process::ExitCode {
    storectl::run()
}
