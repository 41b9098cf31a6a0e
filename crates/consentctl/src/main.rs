//! The `consentctl` binary: everything is in the library.

fn main() -> std::process::ExitCode {
    consentctl::main()
}
