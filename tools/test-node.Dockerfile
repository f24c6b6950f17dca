# Test node: FROM scratch plus Debian's static busybox (sh, ping, ip, nc,
# wget, httpd, sleep, …). tools/build-images stages busybox from the
# busybox-static .deb; nothing is pulled from a registry.
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "mkdir", "-p", "/tmp", "/etc", "/root", "/var/www"]
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["/bin/sh"]
