//! The `storectl` binary; the program is the library's [`storectl::run`].

fn main() -> std::process::ExitCode {
    storectl::run()
}
