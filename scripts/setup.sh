#!/usr/bin/env bash
# Install everything the project needs on a Debian 12 machine, idempotently:
# apt packages, the pinned Debian backports kernel (image, headers, kbuild)
# unpacked into a cache folder, and the project's venv.
#
# Environment:
#   KQUIC_CACHE   cache folder (default: $HOME/.cache/kquic)
#   KQUIC_KVER    kernel version to fetch (default: the pinned one below)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh"

log() { printf '[setup] %s\n' "$*" >&2; }

APT_PKGS=(qemu-system-x86 busybox-static dwarves kmod gcc-12 make bc flex bison
	  libelf-dev python3-venv python3-dev iproute2 cpio zstd xz-utils
	  ca-certificates libev4 systemd man-db tshark tcpdump nftables)

apt_ready() {
	for p in "${APT_PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || return 1
	done
}

ensure_backports() {
	local src=/etc/apt/sources.list.d/bookworm-backports.sources
	[ -f "$src" ] && return 0
	log "adding bookworm-backports apt source"
	cat > "$src" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	APT_UPDATED=
}

APT_UPDATED=
apt_update() {
	[ -n "$APT_UPDATED" ] && return 0
	log "apt-get update"
	apt-get update -qq >&2
	APT_UPDATED=1
}

ensure_apt() {
	ensure_backports
	if ! apt_ready; then
		apt_update
		log "installing ${APT_PKGS[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${APT_PKGS[@]}" >&2
	fi
}

# Pick the kernel version: the pinned one if the archive still has it,
# otherwise the newest 6.12 build bookworm-backports offers.
pick_kver() {
	if apt-cache show "linux-image-${KQUIC_KVER}-amd64-unsigned" >/dev/null 2>&1; then
		echo "$KQUIC_KVER"
		return
	fi
	local v
	v=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' |
	    sed -E 's/^linux-image-([^ ]+)-amd64-unsigned.*/\1/' | sort -V | tail -n1)
	[ -n "$v" ] || { log "no 6.12 kernel found in bookworm-backports"; exit 1; }
	log "pinned kernel $KQUIC_KVER is gone from the archive; using $v"
	echo "$v"
}

ensure_kernel() {
	if [ -f "$KQUIC_CACHE/kver" ] && [ -f "$(kernel_image)" ] &&
	   [ -f "$(kernel_build)/Makefile" ]; then
		return 0
	fi
	apt_update
	local kver dl
	kver=$(pick_kver)
	dl="$KQUIC_CACHE/debs"
	mkdir -p "$dl" "$KQUIC_CACHE/root"
	log "fetching kernel $kver into $KQUIC_CACHE"
	(cd "$dl" && apt-get download -qq \
		"linux-image-${kver}-amd64-unsigned" \
		"linux-headers-${kver}-amd64" \
		"linux-headers-${kver}-common" \
		"linux-kbuild-${kver%%+*}+deb12" >&2) ||
	(cd "$dl" && apt-get download -qq \
		"linux-image-${kver}-amd64-unsigned" \
		"linux-headers-${kver}-amd64" \
		"linux-headers-${kver}-common" \
		"linux-kbuild-${kver}" >&2)
	for d in "$dl"/*.deb; do
		dpkg -x "$d" "$KQUIC_CACHE/root"
	done
	local rel="${kver}-amd64"
	local hdr="$KQUIC_CACHE/root/usr/src/linux-headers-$rel"
	# The headers' Makefile includes the common tree by absolute path and
	# kbuild lives under /usr/lib: point both into the cache.
	sed -i "s#/usr/src/#$KQUIC_CACHE/root/usr/src/#g" "$hdr/Makefile"
	for l in "$hdr/scripts" "$hdr/tools"; do
		if [ -L "$l" ]; then
			local t
			t=$(readlink "$l")
			case "$t" in
			/*) ln -sfn "$KQUIC_CACHE/root$t" "$l" ;;
			esac
		fi
	done
	# Modules next to the image, so virtme-ng finds them.
	mkdir -p "$KQUIC_CACHE/root/lib/modules/$rel"
	ln -sfn "$hdr" "$KQUIC_CACHE/root/lib/modules/$rel/build"
	depmod -b "$KQUIC_CACHE/root" "$rel"
	echo "$rel" > "$KQUIC_CACHE/kver"
	log "kernel $rel ready"
}

# ngtcp2's example peers (gtlsclient/gtlsserver, HTTP/3 over GnuTLS) for the
# interop tests, unpacked into the cache like the kernel: bookworm itself
# only has the 0.12 pre-release, and the package would enable a systemd
# service.  Run them through scripts/ngtcp2.
NGTCP2_DEBS=(ngtcp2-client ngtcp2-server libngtcp2-16 libngtcp2-crypto-gnutls8
	     libnghttp3-9)
ensure_ngtcp2() {
	local dir="$KQUIC_CACHE/ngtcp2"
	[ -x "$dir/usr/bin/gtlsclient" ] && [ -x "$dir/usr/sbin/gtlsserver" ] && return 0
	apt_update
	local dl="$KQUIC_CACHE/ngtcp2-debs" p
	rm -rf "$dl" "$dir"
	mkdir -p "$dl" "$dir"
	log "fetching ngtcp2 from bookworm-backports into $dir"
	for p in "${NGTCP2_DEBS[@]}"; do
		(cd "$dl" && apt-get download -qq "$p/bookworm-backports" >&2)
	done
	for p in "$dl"/*.deb; do
		dpkg -x "$p" "$dir"
	done
}

# quic-go, the third interop peer: our own small program
# (tests/peers/quicgo) built against Debian's quic-go source package.
# bookworm's quic-go 0.29 only knows draft versions of QUIC v2, so both Go
# and quic-go come from bookworm-backports (quic-go 0.46: v1 and RFC 9369
# v2).  The build is offline (GOPATH mode over /usr/share/gocode, no module
# proxy) and is redone only when the source, Go or quic-go changed; run the
# binary through scripts/quicgo-peer, which refuses a stale one.
QUICGO_PKGS=(golang-go golang-github-lucas-clemente-quic-go-dev)
QUICGO_MIN=0.46
QUICGO_GO_MIN=1.21	# what quic-go 0.46 needs
quicgo_installed() {
	local v g
	v=$(dpkg-query -W -f='${Version}' golang-github-lucas-clemente-quic-go-dev 2>/dev/null) ||
		return 1
	g=$(go env GOVERSION 2>/dev/null) || return 1
	dpkg --compare-versions "$v" ge "$QUICGO_MIN" &&
		dpkg --compare-versions "${g#go}" ge "$QUICGO_GO_MIN"
}
ensure_quicgo() {
	if ! quicgo_installed; then
		[ "$(id -u)" = 0 ] || { log "run as root once to install ${QUICGO_PKGS[*]}"; exit 1; }
		apt_update
		log "installing ${QUICGO_PKGS[*]} from bookworm-backports"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			-t bookworm-backports "${QUICGO_PKGS[@]}" >&2
	fi
	local dir="$KQUIC_CACHE/quicgo" stamp
	stamp=$("$ROOT/scripts/quicgo-peer" --stamp)
	[ -x "$dir/quicgo-peer" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ] && return 0
	log "building the quic-go peer into $dir"
	mkdir -p "$dir"
	(cd "$ROOT/tests/peers/quicgo" &&
	 GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOTOOLCHAIN=local GOFLAGS= \
	 GOCACHE="$dir/gocache" CGO_ENABLED=0 go build -o "$dir/quicgo-peer.new" . >&2)
	mv "$dir/quicgo-peer.new" "$dir/quicgo-peer"
	echo "$stamp" > "$dir/stamp"
}

# The kernel's own style checkers (checkpatch.pl --strict and kernel-doc),
# which the host tier runs on kmod/: taken from Debian's linux-source
# package of the test kernel's series, unpacked into the cache.
CHECKPATCH_FILES=(scripts/checkpatch.pl scripts/spelling.txt
		  scripts/const_structs.checkpatch scripts/kernel-doc)
ensure_checkpatch() {
	local dir="$KQUIC_CACHE/checkpatch" series dl f
	[ -f "$dir/scripts/checkpatch.pl" ] && [ -f "$dir/scripts/kernel-doc" ] && return 0
	series=$(cut -d. -f1,2 "$KQUIC_CACHE/kver")
	apt_update
	dl=$(mktemp -d)
	chmod 755 "$dl"	# apt downloads as _apt
	log "fetching checkpatch.pl and kernel-doc from linux-source-$series"
	(cd "$dl" && apt-get download -qq "linux-source-$series" >&2)
	dpkg-deb --fsys-tarfile "$dl"/linux-source-*.deb |
		tar -x -C "$dl" --wildcards '*.tar.xz'
	mkdir -p "$dir"
	tar -xJf "$dl"/usr/src/linux-source-*.tar.xz -C "$dir" --strip-components=1 \
		"${CHECKPATCH_FILES[@]/#/linux-source-$series/}"
	rm -rf "$dl"
	for f in "${CHECKPATCH_FILES[@]}"; do
		[ -f "$dir/$f" ] || { log "linux-source-$series has no $f"; exit 1; }
	done
}

ensure_venv() {
	local py="$ROOT/.venv/bin/python"
	local stamp="$ROOT/.venv/.installed"
	if [ -x "$py" ] && [ -f "$stamp" ] && [ "$stamp" -nt "$ROOT/pyproject.toml" ]; then
		return 0
	fi
	log "creating venv in $ROOT/.venv"
	[ -x "$py" ] || python3 -m venv "$ROOT/.venv"
	"$py" -m pip install -q --upgrade pip >&2
	"$py" -m pip install -q -e "$ROOT[test]" >&2
	touch "$stamp"
}

if [ "$(id -u)" = 0 ]; then
	ensure_apt
else
	apt_ready || { log "run as root once to install apt packages"; exit 1; }
fi
ensure_kernel
ensure_ngtcp2
ensure_quicgo
ensure_checkpatch
ensure_venv
log "ready: kernel $(cat "$KQUIC_CACHE/kver"), venv $ROOT/.venv"
