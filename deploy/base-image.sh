#!/usr/bin/env bash
# Makes sure the base image of deploy/Dockerfile (debian:bookworm-slim unless
# BASE_IMAGE says otherwise) exists in the local Docker engine. Uses it if it
# is there, pulls it if a registry answers, and otherwise builds it from
# Debian's own mirror: debootstrap --variant=minbase bookworm into a folder,
# trimmed like the slim image, then `docker import`.
#
#   deploy/base-image.sh            # BASE_IMAGE=debian:bookworm-slim
#   FORCE=1 deploy/base-image.sh    # rebuild with debootstrap even if present
#
# Needs root (debootstrap) and the debootstrap package (installed if missing).
# MIRROR defaults to the first Debian mirror in this machine's apt sources.
set -euo pipefail

image=${BASE_IMAGE:-debian:bookworm-slim}
suite=bookworm
pull_timeout=${PULL_TIMEOUT:-60}

log() { echo "base-image: $*"; }

if [ "${FORCE:-0}" != 1 ]; then
  if docker image inspect "$image" >/dev/null 2>&1; then
    log "$image is present"
    exit 0
  fi
  log "trying: docker pull $image (at most ${pull_timeout}s)"
  if timeout "$pull_timeout" docker pull -q "$image" >/dev/null 2>&1; then
    log "pulled $image"
    exit 0
  fi
  log "cannot pull $image; building it with debootstrap"
fi

[ "$(id -u)" -eq 0 ] || { echo "base-image: debootstrap needs root" >&2; exit 1; }
if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# The mirror this machine's apt already uses (deb822 or one-line sources).
mirror=${MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
             | awk '/^URIs:/ && $2 ~ /debian\/?$/ && $2 !~ /security/ {print $2; exit}')
fi
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
             | awk '$1 == "deb" && $2 ~ /debian\/?$/ && $2 !~ /security/ {print $2; exit}')
fi
mirror=${mirror:-http://deb.debian.org/debian}
security=${SECURITY_MIRROR:-${mirror%/debian*}/debian-security}
log "mirror $mirror, security $security"

root=$(mktemp -d /tmp/rkv-base-image.XXXXXX)
cleanup() { rm -rf "$root"; }
trap cleanup EXIT

debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 || {
  echo "base-image: debootstrap failed; the end of $root.log:" >&2
  tail -n 30 "$root.log" >&2
  exit 1
}
rm -f "$root.log"

# What the official slim image does: updates and security in the sources, no
# recommends, no docs or man pages or locales, empty apt lists and caches.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat >"$root/etc/apt/apt.conf.d/docker-no-recommends" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
EOF
# As the official images: no fsync per unpacked file (a container's layer
# is thrown away on failure anyway); much faster apt-get in docker build.
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-excludes" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete 2>/dev/null || true
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
       "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
       "$root"/var/log/* "$root"/tmp/* "$root"/root/.bash_history
# Containers get their own; the host's must not leak into the image.
: >"$root/etc/hostname"
: >"$root/etc/resolv.conf"
rm -f "$root/etc/machine-id"; : >"$root/etc/machine-id"

tar --numeric-owner -C "$root" -c . \
  | docker import --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --message "debootstrap --variant=minbase $suite from $mirror" - "$image" >/dev/null
log "built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
