//! Generated protobuf and gRPC types for the Sluice ledger API.
//!
//! The contract lives in `proto/sluice/ledger/v1/ledger.proto`; this crate only
//! compiles it (with `protox`, no `protoc`). Use `sluice-ledger`'s typed client
//! rather than these types directly where you can.

/// The `sluice.ledger` protobuf packages.
pub mod ledger {
    /// Version 1 of the ledger API (`sluice.ledger.v1`).
    pub mod v1 {
        #![allow(missing_docs, unused_qualifications, clippy::all)]
        tonic::include_proto!("sluice.ledger.v1");
    }
}
