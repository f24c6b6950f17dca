# The conlink image from a prebuilt static binary (tools/build-images stages
# rootfs/ with tools/make-rootfs). For a build from source without any local
# Rust toolchain, use the Dockerfile at the repository root instead.
FROM scratch
COPY rootfs/ /
CMD ["/conlink", "--help"]
