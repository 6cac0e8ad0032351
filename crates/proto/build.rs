//! Compiles `proto/sluice/ledger/v1/ledger.proto` with `protox` (a pure-Rust
//! protobuf compiler), so building Sluice never needs `protoc` installed.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let file = root.join("sluice/ledger/v1/ledger.proto");
    println!("cargo:rerun-if-changed={}", root.display());

    let fds = protox::compile([&file], [&root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
