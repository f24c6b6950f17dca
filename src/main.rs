//! The `conlink` multicall binary: argv[0] (or the first argument) picks the tool.

use std::process::ExitCode;

fn main() -> ExitCode {
    let (tool, args) = conlink::multicall::select(std::env::args_os().collect());
    conlink::multicall::run(tool, args)
}
