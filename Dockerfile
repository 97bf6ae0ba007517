# syntax=docker/dockerfile:1
# Base images are pinned by digest, the tag kept beside it for readers.
# Refresh both digests together (docker buildx imagetools inspect TAG, or
# Dependabot's docker ecosystem), then rebuild.
FROM golang:1.26-bookworm@sha256:9fdc884aacc3bec89b20ffc69f4bb369c78210e3e4f600387b5128b12c199f81 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .git stays out of the context (.dockerignore), so the build passes the
# version in: docker build --build-arg VERSION=$(git describe --tags --always) \
#   --build-arg REVISION=$(git rev-parse HEAD) -t patchwatch .
ARG VERSION=""
ARG REVISION=""
RUN ldflags="-s -w -X github.com/patchwatch/patchwatch/internal/buildinfo.version=${VERSION} -X github.com/patchwatch/patchwatch/internal/buildinfo.revision=${REVISION}" && \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="$ldflags" -o /out/patchwatch ./cmd/patchwatch && \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="$ldflags" -o /out/patchwatch-agent ./cmd/patchwatch-agent && \
    mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
COPY --from=build /out/patchwatch /usr/local/bin/patchwatch
# The agent binary ships in the image for distribution to VMs (deploy/).
COPY --from=build /out/patchwatch-agent /usr/local/share/patchwatch/patchwatch-agent
COPY patchwatch.example.yaml /etc/patchwatch/patchwatch.example.yaml
# /data belongs to the nonroot user (65532), so a new named volume does too.
COPY --from=build --chown=65532:65532 /out/data /data
# Where a --config file sets neither db nor server.listen, these apply: the
# database in the volume, the API on every interface of the container (put
# TLS in front, or set server.tls_cert_file and server.tls_key_file).
ENV PATCHWATCH_DB=/data/patchwatch.db \
    PATCHWATCH_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/patchwatch"]
CMD ["serve"]
