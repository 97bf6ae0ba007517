#!/usr/bin/env bash
# Builds what VMs download at first boot and writes it to dist/: the agent
# for x86_64 and aarch64 (static), its systemd units, SHA256SUMS, and
# cloud-init.yaml (deploy/cloud-init.yaml with SERVER_URL and those sums
# filled in). Publish dist/* at SERVER_URL/dist/ and give the VMs
# dist/cloud-init.yaml as user data.
#
#   scripts/dist-agent.sh https://patchwatch.example.org
set -euo pipefail
cd "$(dirname "$0")/.."
server="${1:?usage: scripts/dist-agent.sh SERVER_URL (https://...)}"
case "$server" in https://*) ;; *) echo "SERVER_URL must be https://" >&2; exit 2 ;; esac
server="${server%/}"
out=dist
mkdir -p "$out"
version="$(git describe --tags --always --dirty 2>/dev/null || echo devel)"
for pair in x86_64:amd64 aarch64:arm64; do
  CGO_ENABLED=0 GOOS=linux GOARCH="${pair#*:}" go build -trimpath -ldflags="-s -w" \
    -o "$out/patchwatch-agent-${pair%%:*}" ./cmd/patchwatch-agent
done
cp deploy/patchwatch-agent.service deploy/patchwatch-agent.timer "$out/"
(cd "$out" && sha256sum patchwatch-agent-x86_64 patchwatch-agent-aarch64 patchwatch-agent.service patchwatch-agent.timer > SHA256SUMS)
# The sums replace the block between the markers, indented as in the file.
awk -v sums="$out/SHA256SUMS" -v server="$server" '
  /# SHA256SUMS BEGIN/ { indent = substr($0, 1, index($0, "#") - 1); print
                         while ((getline line < sums) > 0) print indent line
                         skip = 1; next }
  /# SHA256SUMS END/   { skip = 0 }
  skip { next }
  { gsub("https://patchwatch.example.org", server); print }
' deploy/cloud-init.yaml > "$out/cloud-init.yaml"
echo "dist/ ($version): publish at $server/dist/; user data: $out/cloud-init.yaml"
