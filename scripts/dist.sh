#!/usr/bin/env bash
# make dist: the release artifacts, as the release workflow (.github/workflows/release.yml)
# builds them on a `v*` tag. Writes into dist/ (git-ignored):
#
#   ecr-scan-gate-lambda-arm64.zip     the function for Lambda (provided.al2023, arm64)
#   ecr-scan-gate-lambda-x86_64.zip    the same for x86_64
#   ecr-scan-gate-check-linux-x86_64   the deploy pipeline's check, Linux x86_64
#   ecr-scan-gate-check-linux-arm64    the same for Linux arm64
#   SHA256SUMS                         `sha256sum -c SHA256SUMS` verifies them
#   VERSION                            the version they were built from (v + Cargo.toml)
#
# The names stay the same from one release to the next (the version is the release's tag), so
# `.../releases/download/<tag>/<name>` and `.../releases/latest/download/<name>` both work and
# the infra variable lambda_zip_path takes the zip under its own name.
#
# Each is a release build (fat LTO, one codegen unit: see Cargo.toml), cross-compiled by
# cargo-lambda with zig: four builds, about 10-20 minutes on 2 cores from cold. Not part of
# `make test` or CI for that reason.
#
# Environment:
#   DIST_VERSION      the release's version (default: v + the version in Cargo.toml). The
#                     release workflow passes the tag; it must match Cargo.toml, so that
#                     `ecr-scan-gate-check --version` tells the truth.
#   DIST_DIR          where to write (default: dist)
#   CARGO_TARGET_DIR  honoured; the per-architecture lambda directories go under it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

die() { printf 'dist: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH: install Rust (rustup); the toolchain is pinned in rust-toolchain.toml."
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is not on PATH (coreutils)."
bash scripts/venv.sh
export PATH="$ROOT/.venv/bin:$PATH"
[[ -x .venv/bin/cargo-lambda ]] || die "cargo-lambda is missing from .venv/bin (scripts/venv.sh installs it)."

CRATE_VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)"
[[ -n "$CRATE_VERSION" ]] || die "cannot read the package version from Cargo.toml."
VERSION="${DIST_VERSION:-v$CRATE_VERSION}"
[[ "$VERSION" == "v$CRATE_VERSION" ]] \
    || die "version $VERSION does not match Cargo.toml ($CRATE_VERSION): bump Cargo.toml before tagging, or tag v$CRATE_VERSION."

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
DIST_DIR="${DIST_DIR:-dist}"

# elf_machine FILE: the ELF e_machine of FILE (x86_64 or arm64), to check what was built.
elf_machine() {
    local m
    m="$(od -An -tx1 -j18 -N2 "$1" | tr -d ' \n')"
    case "$m" in
        3e00) echo x86_64 ;;
        b700) echo arm64 ;;
        *) echo "unknown($m)" ;;
    esac
}

mkdir -p "$DIST_DIR"
rm -f "$DIST_DIR"/ecr-scan-gate-* "$DIST_DIR/SHA256SUMS" "$DIST_DIR/VERSION"

for arch in arm64 x86_64; do
    case "$arch" in
        arm64) flag=--arm64 triple=aarch64-unknown-linux-gnu ;;
        x86_64) flag=--x86-64 triple=x86_64-unknown-linux-gnu ;;
    esac
    # Both architectures would write the same bootstrap.zip path: one lambda dir each.
    lambda_dir="$TARGET_DIR/lambda-$arch"

    echo "== [$arch] the function: cargo lambda build --release $flag --output-format zip --bin ecr-scan-gate --lambda-dir $lambda_dir"
    cargo lambda build --release "$flag" --output-format zip --bin ecr-scan-gate --lambda-dir "$lambda_dir"
    zip="$lambda_dir/ecr-scan-gate/bootstrap.zip"
    [[ -f "$zip" ]] || die "expected $zip after the build; it is not there."
    cp "$zip" "$DIST_DIR/ecr-scan-gate-lambda-$arch.zip"

    echo "== [$arch] the check: cargo lambda build --release $flag --bin ecr-scan-gate-check --lambda-dir $lambda_dir"
    cargo lambda build --release "$flag" --bin ecr-scan-gate-check --lambda-dir "$lambda_dir"
    # cargo-lambda copies every binary it builds to <lambda dir>/<bin>/bootstrap; cargo's own
    # output is the same file.
    bin="$lambda_dir/ecr-scan-gate-check/bootstrap"
    [[ -f "$bin" ]] || bin="$TARGET_DIR/$triple/release/ecr-scan-gate-check"
    [[ -f "$bin" ]] || die "the check binary for $arch is in neither $lambda_dir/ecr-scan-gate-check/bootstrap nor $TARGET_DIR/$triple/release/."
    got="$(elf_machine "$bin")"
    [[ "$got" == "$arch" ]] || die "$bin is built for $got, not $arch."
    install -m 0755 "$bin" "$DIST_DIR/ecr-scan-gate-check-linux-$arch"
done

# The zip must hold an executable `bootstrap` at its root, built for its architecture.
for arch in arm64 x86_64; do
    zip="$DIST_DIR/ecr-scan-gate-lambda-$arch.zip"
    python3 - "$zip" "$arch" <<'PY' || die "$zip is not a Lambda zip for its architecture."
import sys, zipfile
path, arch = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(path) as z:
    info = z.getinfo("bootstrap")
    head = z.read("bootstrap")[:20]
mode = info.external_attr >> 16
machine = {b"\x3e\x00": "x86_64", b"\xb7\x00": "arm64"}.get(head[18:20], "unknown")
assert head[:4] == b"\x7fELF", "bootstrap is not an ELF file"
assert mode & 0o111, "bootstrap is not executable in the zip"
assert machine == arch, f"bootstrap is built for {machine}"
PY
done

sums="$(cd "$DIST_DIR" && sha256sum -- ecr-scan-gate-*)"
printf '%s\n' "$sums" >"$DIST_DIR/SHA256SUMS"
printf '%s\n' "$VERSION" >"$DIST_DIR/VERSION"
(cd "$DIST_DIR" && sha256sum -c --quiet SHA256SUMS) || die "SHA256SUMS does not verify."

echo
echo "dist: $VERSION in $DIST_DIR/"
(cd "$DIST_DIR" && for f in *; do printf '  %-48s %10s bytes\n' "$f" "$(stat -c %s "$f")"; done)
echo
cat "$DIST_DIR/SHA256SUMS"
