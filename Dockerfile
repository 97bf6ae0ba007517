# syntax=docker/dockerfile:1
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/patchwatch ./cmd/patchwatch && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/patchwatch-agent ./cmd/patchwatch-agent

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/patchwatch /usr/local/bin/patchwatch
# The agent binary ships in the image for distribution to VMs (deploy/).
COPY --from=build /out/patchwatch-agent /usr/local/share/patchwatch/patchwatch-agent
ENV PATCHWATCH_DB=/data/patchwatch.db
VOLUME ["/data"]
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/patchwatch"]
CMD ["serve"]
