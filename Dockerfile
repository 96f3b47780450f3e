# The image of the Kubernetes Job (scripts/cluster/k8s/): the faultline
# binary, linked statically, and scenarios/ — nothing else, not even a
# shell. Its working folder is /, so scenario paths and the reproduce
# commands a sweep prints read as on a laptop (scenarios/raft/...).
#
# The binary is the glibc target linked with crt-static (a static
# executable; faultline needs no NSS or dlopen): the musl target is not
# installed on the project's machines, and this builds with the stock
# toolchain of the builder image. `scripts/cluster/k8s/README.md` shows the
# same build without Docker.
#
#   docker build -t faultline:latest .
#   docker run --rm faultline:latest sweep scenarios/raft/leader-isolation.json --seeds 0..100 --jobs 1
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --bin faultline --target x86_64-unknown-linux-gnu \
 && cp target/x86_64-unknown-linux-gnu/release/faultline /faultline

FROM scratch
COPY --from=build /faultline /faultline
COPY scenarios /scenarios
WORKDIR /
ENTRYPOINT ["/faultline"]
