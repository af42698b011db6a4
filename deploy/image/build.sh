#!/usr/bin/env bash
# Build the cloudmonitor-pipelines container image from Debian packages and the pinned Python wheels only:
#
#   1. `pip wheel` the project and its pinned dependency closure (deploy/image/constraints.txt) on the host, from
#      the package registry the host is configured for (the only network the build needs besides Debian's mirror);
#   2. `mmdebstrap` a slim Debian bookworm root filesystem (python3 3.11, CA certificates, tzdata, nothing else:
#      no compiler, no docs), create the venv /opt/cloudmonitor/venv inside it and install the wheels offline;
#      add the non-root user `cloudmonitor` (uid/gid 10001);
#   3. `podman import` the tarball as an image whose default user is 10001 and whose entry point is `dagster`.
#
# No secret, tenants file or credential is copied in: tenants come from a ConfigMap, identity from workload identity.
# Usage: deploy/image/build.sh [tag]   (env: IMAGE_NAME, BUILD_DIR, DEBIAN_MIRROR, PYTHON for `pip wheel`)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TAG="${1:-$(git -C "$REPO_ROOT" rev-parse --short=12 HEAD)}"
IMAGE_NAME="${IMAGE_NAME:-localhost/cloudmonitor-pipelines}"
BUILD_DIR="${BUILD_DIR:-$REPO_ROOT/.build/image}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PYTHON="${PYTHON:-$REPO_ROOT/.venv/bin/python}"
UID_GID=10001

# The project wheel and every dependency, exactly as pinned (constraints), for Linux x86_64 / CPython 3.11.
# REUSE_WHEELS=1 keeps the dependency wheels of the previous build (the project wheel is always rebuilt).
if [ "${REUSE_WHEELS:-0}" != 1 ]; then rm -rf "$BUILD_DIR"; fi
rm -f "$BUILD_DIR"/wheels/cloudmonitor_pipelines-*.whl "$BUILD_DIR/rootfs.tar"
mkdir -p "$BUILD_DIR/wheels"
"$PYTHON" -m pip wheel --quiet --wheel-dir "$BUILD_DIR/wheels" --find-links "$BUILD_DIR/wheels" \
  --constraint "$REPO_ROOT/deploy/image/constraints.txt" "$REPO_ROOT[deploy]" 2> >(grep -v "^WARNING: Location" >&2)

rm -rf "$REPO_ROOT/build"  # setuptools' scratch folder from building the project wheel
ROOTFS_TAR="$BUILD_DIR/rootfs.tar"
mmdebstrap --variant=minbase --mode=root --format=tar \
  --include=python3,python3-venv,ca-certificates,tzdata,passwd \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='mkdir -p "$1/tmp/wheels"' \
  --customize-hook="copy-in $BUILD_DIR/wheels /tmp" \
  --customize-hook='chroot "$1" python3 -m venv /opt/cloudmonitor/venv' \
  --customize-hook='chroot "$1" /opt/cloudmonitor/venv/bin/pip install --no-index --no-cache-dir --quiet --find-links /tmp/wheels "cloudmonitor-pipelines[deploy]"' \
  --customize-hook='rm -rf "$1/tmp/wheels" "$1/var/lib/apt/lists/"* "$1/var/cache/apt/"*' \
  --customize-hook="chroot \"\$1\" groupadd --gid $UID_GID cloudmonitor" \
  --customize-hook="chroot \"\$1\" useradd --uid $UID_GID --gid $UID_GID --create-home --home-dir /home/cloudmonitor --shell /usr/sbin/nologin cloudmonitor" \
  --customize-hook='mkdir -p "$1/opt/dagster/dagster_home" && chown 10001:10001 "$1/opt/dagster/dagster_home"' \
  bookworm "$ROOTFS_TAR" "$DEBIAN_MIRROR"

podman import \
  --change "USER $UID_GID:$UID_GID" \
  --change "WORKDIR /home/cloudmonitor" \
  --change "ENV PATH=/opt/cloudmonitor/venv/bin:/usr/local/bin:/usr/bin:/bin" \
  --change "ENV DAGSTER_HOME=/opt/dagster/dagster_home" \
  --change "ENV PYTHONDONTWRITEBYTECODE=1" \
  --change 'ENTRYPOINT ["/opt/cloudmonitor/venv/bin/dagster"]' \
  --change 'CMD ["code-server", "start", "-h", "0.0.0.0", "-p", "3030", "-m", "cloudmonitor_pipelines.definitions", "-a", "defs"]' \
  --change "LABEL org.opencontainers.image.source=https://github.com/cloudmonitor/cloudmonitor-pipelines" \
  --change "LABEL org.opencontainers.image.revision=$(git -C "$REPO_ROOT" rev-parse HEAD)" \
  "$ROOTFS_TAR" "$IMAGE_NAME:$TAG"
echo "built $IMAGE_NAME:$TAG (rootfs: $ROOTFS_TAR)"
