# KECS as a container: `docker compose up` or `docker build -t kecs .`
# Build stage: compiles the kecs binary (DuckDB's bundled C++ makes a cold build take ~25 min).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p kecs-server --bin kecs \
 && cp target/release/kecs /usr/local/bin/kecs

# Runtime stage: a small Debian with just the binary.
FROM debian:bookworm-slim
COPY --from=build /usr/local/bin/kecs /usr/local/bin/kecs
ENV KECS_API_ADDR=0.0.0.0:8080 \
    KECS_ADMIN_ADDR=0.0.0.0:8081 \
    KECS_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/kecs"]
CMD ["server"]
