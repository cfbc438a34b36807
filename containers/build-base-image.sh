#!/bin/sh
# Builds the local Node.js base image for the runtime Dockerfile from Debian packages, for
# machines that cannot pull from a registry (CI, air-gapped builders): a trixie minbase with
# nodejs (20.19) and ca-certificates, imported into podman's storage.
#
#   containers/build-base-image.sh            prints the image name, building it if missing
#   buildah build --build-arg BASE_IMAGE="$(containers/build-base-image.sh)" .
#
# The tag is the hash of this script, so a changed recipe builds a new image and an unchanged
# one is built once per machine. Needs root, mmdebstrap and podman; MIRROR overrides the mirror.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
: "${CONTAINERS_CONF:=$here/containers.conf}"
export CONTAINERS_CONF
suite=trixie
mirror=${MIRROR:-http://deb.debian.org/debian}
tag=$(sha256sum "$0" | cut -c 1-16)
image=localhost/slipway/node-base:$tag

for tool in mmdebstrap podman; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "build-base-image: $tool is not installed (Debian package: $tool)" >&2
    exit 127
  }
done

# Builds running at the same time (parallel test files) wait for the first instead of
# bootstrapping the same image twice.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/slipway-node-base-$tag.lock"
  flock 9
fi

if podman image exists "$image"; then
  echo "$image"
  exit 0
fi

tarball=$(mktemp --suffix=.tar)
trap 'rm -f "$tarball"' EXIT

# Documentation, man pages and locales are dead weight in a server image; apt's lists and
# caches are dropped because the image never installs anything after it is built.
# shellcheck disable=SC2016 # mmdebstrap expands $1 (the root directory) in its hooks.
mmdebstrap --quiet --variant=minbase --include=nodejs,ca-certificates \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
  "$suite" "$tarball" "$mirror" >&2

podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  "$tarball" "$image" >/dev/null
# Images of earlier recipes are dead weight in the machine's storage.
podman images --format '{{.Repository}}:{{.Tag}}' | grep "^${image%:*}:" | grep -vx "$image" |
  while read -r old; do podman rmi --force "$old" >/dev/null 2>&1 || true; done
echo "$image"
