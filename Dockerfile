# syntax=docker/dockerfile:1.7
# One image with every Sluice binary: the six services, the ledger, the
# review console and the `sluice` command line. Pick one with the
# container's command, e.g. `sluice-gate`, `sluice-ledger serve`,
# `sluice-console`, `sluice admin provision`.
#
#   docker build -t sluice:dev .
#
# The build step is scripts/build.sh, the same script CI runs.

FROM rust:1.94-slim-bookworm AS build
WORKDIR /src
# Only what the build reads (see .dockerignore): manifests, sources, the
# protos, the migrations and the offline SQL data.
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY examples examples
COPY proto proto
COPY migrations migrations
COPY .sqlx .sqlx
COPY scripts/build.sh scripts/build.sh
ENV CARGO_TARGET_DIR=/target
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/target \
    bash scripts/build.sh --profile release /out

# glibc and libgcc, CA certificates, no shell, no package manager; runs as
# uid/gid 65532. Every binary writes only to stdout/stderr, so the root
# filesystem can be mounted read-only.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
# The webhook API, the services' /livez /readyz /metrics, the ledger's gRPC.
EXPOSE 8080 9081 9102 9093 9094 9095 9096 9464 50051
ENTRYPOINT []
CMD ["sluice", "--help"]
