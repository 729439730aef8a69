//! rdocker-shim: one per container and per exec. See runtime/PROTOCOL.md.

use rdocker_runtime::{args, shim};

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let code = match args::parse(&argv) {
        Ok(cmd) => shim::main(cmd),
        Err(e) => {
            eprintln!("rdocker-shim: {e}");
            2
        }
    };
    std::process::exit(code);
}
