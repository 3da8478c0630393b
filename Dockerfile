# Switchboard's runtime image: the release binary, CA certificates, the C runtime it
# links against and a non-root user; nothing else (no shell, no package manager).
#
#   cargo build --release --locked
#   docker build -t switchboard .          # or: podman build --format docker -t switchboard .
#   docker run -p 8787:8787 -v switchboard-data:/data switchboard
#
# The binary is built outside (BINARY is its path in the build context); to build it
# inside Docker instead, see docs/docker.md. Works with Docker and Podman.

ARG BASE=docker.io/library/debian:bookworm-slim

# Gathers the few files the image needs from a Debian base.
FROM ${BASE} AS files
RUN set -eu; \
    if [ ! -s /etc/ssl/certs/ca-certificates.crt ]; then \
      apt-get update; \
      apt-get install -y --no-install-recommends ca-certificates; \
      rm -rf /var/lib/apt/lists/*; \
    fi; \
    lib=/lib/x86_64-linux-gnu; \
    mkdir -p /out/etc/ssl/certs /out$lib /out/lib64 /out/data /out/tmp /out/usr/local/bin; \
    cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/; \
    cp -L $lib/libc.so.6 $lib/libm.so.6 $lib/libgcc_s.so.1 /out$lib/; \
    cp -L /lib64/ld-linux-x86-64.so.2 /out/lib64/; \
    echo 'switchboard:x:10001:10001:Switchboard:/data:/nonexistent' > /out/etc/passwd; \
    echo 'switchboard:x:10001:' > /out/etc/group; \
    printf 'hosts: files dns\n' > /out/etc/nsswitch.conf; \
    chown 10001:10001 /out/data; \
    chmod 1777 /out/tmp

FROM scratch
ARG BINARY=target/release/switchboard
COPY --from=files /out/ /
COPY ${BINARY} /usr/local/bin/switchboard
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
ENV SMOOTH_AGENT_BIND=0.0.0.0 \
    SMOOTH_AGENT_PORT=8787 \
    SMOOTH_AGENT_DATA_DIR=/data \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
EXPOSE 8787
# Ready: the store and backplane answer and start-up ingestion is done.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/switchboard", "probe", "/ready"]
# Exec form: the server is PID 1 and receives SIGTERM itself (it drains and exits 0).
ENTRYPOINT ["/usr/local/bin/switchboard"]
CMD ["serve"]
