# Shared settings for the scripts; source it, do not run it.
# shellcheck shell=bash
: "${KQUIC_CACHE:=${HOME:-/root}/.cache/kquic}"
: "${KQUIC_KVER:=6.12.95+deb12}"
export KQUIC_CACHE KQUIC_KVER

kernel_rel() { cat "$KQUIC_CACHE/kver"; }
kernel_image() { echo "$KQUIC_CACHE/root/boot/vmlinuz-$(kernel_rel)"; }
kernel_build() { echo "$KQUIC_CACHE/root/usr/src/linux-headers-$(kernel_rel)"; }
