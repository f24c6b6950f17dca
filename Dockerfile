# Multi-stage build of the conlink image from source, for machines that can
# pull a Rust image:  docker build -t conlink .
# (tools/build-images does the same from a locally built binary, no pulls.)
# --build-arg USERLAND=--debug adds tcpdump (the conlink:debug image).
FROM rust:1-bookworm AS build
ARG USERLAND=
WORKDIR /src
COPY . .
RUN RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu \
 && sh tools/make-rootfs target/x86_64-unknown-linux-gnu/release/conlink /rootfs \
 && apt-get update -qq \
 && sh tools/make-userland $USERLAND /tmp/debs /rootfs

FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["/conlink", "--help"]
