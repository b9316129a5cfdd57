# KECS as a container image: `docker build -t kecs:local .` (or `docker-compose up`).
#
# The first stage compiles KECS from this checkout with the official Rust image (DuckDB's
# bundled C++ makes a cold build take about half an hour). A kecs binary already built for
# Debian bookworm can be dropped in as `dist/kecs` instead: the stage then only copies it and
# needs no Rust toolchain, so `--build-arg BUILDER=debian:bookworm-slim` will do.
# scripts/docker-image.sh does exactly that, creating the base image without a registry.
ARG BUILDER=rust:1.95-bookworm
FROM ${BUILDER} AS build
# Marks the intermediate image, so scripts/docker-image.sh can remove it afterwards.
LABEL kecs.stage=build
WORKDIR /src
COPY . .
RUN if [ -x dist/kecs ]; then \
        install -m 0755 dist/kecs /usr/local/bin/kecs; \
    else \
        cargo build --release --locked -p kecs-server --bin kecs \
        && install -m 0755 target/release/kecs /usr/local/bin/kecs; \
    fi

# Runtime: Debian with just the binary. Tasks run as sibling containers on the engine whose
# socket is mounted at /var/run/docker.sock.
FROM debian:bookworm-slim
COPY --from=build /usr/local/bin/kecs /usr/local/bin/kecs
ENV KECS_API_ADDR=0.0.0.0:8080 \
    KECS_ADMIN_ADDR=0.0.0.0:8081 \
    KECS_DATA_DIR=/data \
    KECS_RUNTIME=docker
VOLUME ["/data"]
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/kecs"]
CMD ["server"]
