#!/usr/bin/env bash
# The flowhost container image without a Docker engine: the same image host/image/Dockerfile
# builds (the stripped release binary, the C libraries it links, a CA bundle, user 65532),
# assembled as an OCI layout by host/image/oci_image.py and pushed with skopeo.
#
#   bash scripts/image.sh [--binary PATH] [--tag TAG] [--out DIR] [--push docker://REGISTRY/NAME:TAG]
#
# Without --binary it builds `cargo build --release -p flowhost`. Loopback registries are
# pushed to over plain HTTP.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
tag=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
out=target/image
push=""
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        --tag) tag=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --push) push=$2; shift 2 ;;
        *) echo "image.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -z "$binary" ]; then
    cargo build --release --locked -p flowhost
    binary=target/release/flowhost
fi

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
install -d "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/tmp" "$rootfs/home/nonroot"
chmod 1777 "$rootfs/tmp"
strip --strip-debug -o "$rootfs/usr/local/bin/flowhost" "$binary"
# The shared libraries the binary links, where its loader looks for them.
for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
    install -D -m 0755 "$lib" "$rootfs$lib"
done
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$rootfs/etc/group"
chown -R 65532:65532 "$rootfs/home/nonroot" 2>/dev/null || true

rm -rf "$out"
digest=$(python3 host/image/oci_image.py "$rootfs" "$out" "$tag")
echo "image: oci:$out:$tag ($digest)"
if [ -n "$push" ]; then
    tls=()
    case "$push" in docker://127.0.0.1*|docker://localhost*) tls=(--dest-tls-verify=false) ;; esac
    skopeo copy "${tls[@]}" "oci:$out:$tag" "$push"
    echo "pushed: $push"
fi
