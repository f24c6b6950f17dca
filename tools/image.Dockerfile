# The conlink image from a prebuilt static binary (tools/build-images stages
# rootfs/ with tools/make-rootfs and tools/make-userland). For a build from
# source without any local Rust toolchain, use the Dockerfile at the
# repository root instead.
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["/conlink", "--help"]
