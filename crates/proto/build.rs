//! Compiles `proto/sluice/ledger/v1/ledger.proto` with `protox` (a pure-Rust
//! protobuf compiler), so building Sluice never needs `protoc` installed.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not compiled in with `env!`: the target dir is shared
    // between checkouts (CI builds a fresh clone elsewhere), and a cached
    // build script must look at the checkout it is building now.
    #[allow(clippy::disallowed_methods)] // a build script is a binary: cargo's env is its input
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")?;
    let root = PathBuf::from(manifest_dir).join("../../proto");
    let file = root.join("sluice/ledger/v1/ledger.proto");
    println!("cargo:rerun-if-changed={}", root.display());

    let fds = protox::compile([&file], [&root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
