#!/usr/bin/env bash
# Build jl's Debian package with CPack and check it:
#   1. the control fields (name, version from project(), section, Depends computed from the
#      binary, Suggests) and the contents (exactly the expected files, modes 0755/0644, owner
#      root, the binary stripped);
#   2. install it with apt into a clean Debian root (the test bed's minbase root fs, in a
#      chroot), so a Depends that is missing or wrong makes it fail; run `jl --version`, the
#      bash completion (with and without bash-completion) and `man jl` there; remove it again.
#
# Usage: tests/package.sh [BUILD_DIR]   (default: build/; configured and built if needed)
# Needs root, and apt access to a Debian mirror from the chroot.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "tests/package.sh: run as root" >&2; exit 1; }
  exec sudo -E "$0" "$@"
fi
build=$(realpath -m "${1:-$root/build}")

t_start=$(date +%s)
step() { printf '== package: %s (%d s)\n' "$*" "$(($(date +%s) - t_start))" >&2; }
fail() {
  printf 'package: FAIL: %s\n' "$1" >&2
  shift
  [ $# -gt 0 ] && printf '%s\n' "$@" | sed 's/^/  | /' >&2
  exit 1
}

work=$(mktemp -d /var/tmp/jl-package.XXXXXX)
chroot_dir=$work/root
mounts=()
cleanup() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" || true
  done
  # never delete below a path that is still mounted
  if grep -qF " $work/" /proc/self/mounts; then
    echo "package: warning: $work still has mounts; left in place" >&2
  else
    rm -rf -- "$work"
  fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
step "build jl"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target jl >/dev/null

# What the package will hold, relative to the prefix; the completions that are in the tree.
expected=(
  "-rwxr-xr-x bin/jl"
  "-rw-r--r-- share/man/man1/jl.1.gz"
  "-rw-r--r-- share/bash-completion/completions/jl"
)
[ -f "$root/shell/_jl" ] && expected+=("-rw-r--r-- share/zsh/vendor-completions/_jl")
[ -f "$root/shell/jl.fish" ] && expected+=("-rw-r--r-- share/fish/vendor_completions.d/jl.fish")
want=$(printf '%s\n' "${expected[@]}" | sort)

step "cmake --install into a temporary prefix"
# A prefix ending in /usr, like the package's; under /usr/local zsh's file goes to site-functions.
cmake --install "$build" --prefix "$work/prefix/usr" >"$work/install.log" 2>&1 ||
  fail "cmake --install failed" "$(cat "$work/install.log")"
files=$(cd "$work/prefix/usr" && find . -type f -printf '%M %P\n' -o -type l -printf '%M %P\n' | sort)
[ "$files" = "$want" ] || fail "cmake --install installed other files than expected" \
  "$(diff <(echo "$want") <(echo "$files") || true)"
cmake --install "$build" --prefix "$work/prefix/local" >"$work/install-local.log" 2>&1 ||
  fail "cmake --install to a /usr/local-like prefix failed" "$(cat "$work/install-local.log")"
if [ -f "$root/shell/_jl" ] && [ ! -f "$work/prefix/local/share/zsh/site-functions/_jl" ]; then
  fail "under a prefix other than /usr, zsh's completion is not in share/zsh/site-functions"
fi

step "cpack"
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/cpack" >"$work/cpack.log" 2>&1 ||
  fail "cpack failed" "$(tail -20 "$work/cpack.log")"
debs=("$work"/cpack/*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
  fail "expected one .deb from cpack" "${debs[@]}"
fi
deb=${debs[0]}

project_version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
binary_version=$("$build/jl" --version)
[ "$binary_version" = "jl $project_version" ] ||
  fail "the binary says '$binary_version', project() says $project_version"
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "jl_${project_version}_${arch}.deb" ] ||
  fail "unexpected file name $(basename "$deb")"

# ---------------------------------------------------------------------------
step "check the control fields"
field() { dpkg-deb -f "$deb" "$1"; }
expect_field() {
  local got
  got=$(field "$1")
  [ "$got" = "$2" ] || fail "$1 is '$got', expected '$2'" "$(dpkg-deb -I "$deb")"
}
expect_field Package jl
expect_field Version "$project_version"
expect_field Architecture "$arch"
expect_field Section utils
expect_field Priority optional
expect_field Suggests bash-completion
[[ $(field Maintainer) =~ ^[^\<]+\ \<[^\>]+@[^\>]+\>$ ]] ||
  fail "Maintainer is not 'Name <address>': $(field Maintainer)"
[ -n "$(field Description)" ] || fail "no Description"
depends=$(field Depends)
# What jl links against: each must be a dependency (with a version), computed by dpkg-shlibdeps.
for lib in libc6 libssh-4 'libfmt[0-9]+' 'libstdc\+\+6' libgcc-s1; do
  [[ $depends =~ (^|, )$lib\ \(\>=\ [^\)]+\)(,|$) ]] || fail "Depends lacks $lib: $depends"
done
# and nothing the binary does not link (no -dev packages, no build tools)
for dep in ${depends//,/ }; do
  case $dep in
    *-dev | cmake | g++* | gcc*) fail "Depends names a build dependency: $depends" ;;
  esac
done

# ---------------------------------------------------------------------------
step "check the contents"
listing=$(dpkg-deb -c "$deb")
files=$(awk '$1 !~ /^d/ { print $1, $6 }' <<<"$listing" | sort)
want=${want// / ./usr/}
[ "$files" = "$want" ] || fail "the package's files differ from what is expected" \
  "$(diff <(echo "$want") <(echo "$files") || true)"
bad_dirs=$(awk '$1 ~ /^d/ && $1 != "drwxr-xr-x" { print $1, $6 }' <<<"$listing")
[ -z "$bad_dirs" ] || fail "directories that are not 0755" "$bad_dirs"
bad_owner=$(awk '$2 != "root/root" { print $2, $6 }' <<<"$listing")
[ -z "$bad_owner" ] || fail "entries not owned by root/root" "$bad_owner"
dpkg-deb -x "$deb" "$work/unpacked"
sections=$(readelf -S -W "$work/unpacked/usr/bin/jl")
if grep -qE '\.(debug_info|symtab) ' <<<"$sections"; then
  fail "/usr/bin/jl is not stripped"
fi
gzip -t "$work/unpacked/usr/share/man/man1/jl.1.gz" || fail "the man page is not valid gzip"
cmp -s <(gzip -dc "$work/unpacked/usr/share/man/man1/jl.1.gz") "$root/docs/jl.1" ||
  fail "the packaged man page differs from docs/jl.1"
# md5sums covers every file
md5_files=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./md5sums | awk '{ print "./" $2 }' | sort)
[ "$md5_files" = "$(awk '{ print $2 }' <<<"$files" | sort)" ] ||
  fail "md5sums does not list exactly the package's files" "$md5_files"

# ---------------------------------------------------------------------------
step "prepare a clean Debian root"
tarball=$("$root/tests/testbed/testbed.sh" rootfs) || fail "no Debian root fs (testbed.sh rootfs)"
mkdir -p "$chroot_dir"
tar -C "$chroot_dir" --numeric-owner -xf "$tarball"
mount -t proc proc "$chroot_dir/proc"
mounts+=("$chroot_dir/proc")
if [ ! -c "$chroot_dir/dev/null" ]; then
  mount --bind /dev "$chroot_dir/dev"
  mounts+=("$chroot_dir/dev")
fi
cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$chroot_dir/usr/sbin/policy-rc.d" # start no services
chmod 755 "$chroot_dir/usr/sbin/policy-rc.d"
in_root() { chroot "$chroot_dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
# The root must not have these yet, or the checks below prove less.
for f in /usr/bin/jl /usr/bin/man /usr/share/bash-completion/bash_completion \
  /usr/lib/"$(uname -m)"-linux-gnu/libssh.so.4; do
  [ ! -e "$chroot_dir$f" ] || fail "the clean root already has $f"
done

step "apt-get install the package (and man-db) in the root"
in_root apt-get update >"$work/apt.log" 2>&1 ||
  fail "apt-get update in the clean root failed (is the Debian mirror reachable?)" \
    "$(tail -5 "$work/apt.log")"
cp "$deb" "$chroot_dir/tmp/"
chmod 644 "$chroot_dir/tmp/$(basename "$deb")"
in_root apt-get install -y --no-install-recommends man-db "/tmp/$(basename "$deb")" \
  >>"$work/apt.log" 2>&1 || fail "apt-get install of the package failed" "$(tail -15 "$work/apt.log")"

step "check jl, its completion and its man page in the root"
# shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
in_root dpkg-query -W -f='${db:Status-Abbrev}' jl | grep -q '^ii' || fail "jl is not installed"
got=$(in_root jl --version 2>&1) || fail "jl --version failed in the clean root" "$got"
[ "$got" = "jl $project_version" ] || fail "jl --version printed '$got'"
missing=$(in_root ldd /usr/bin/jl | grep 'not found' || true)
[ -z "$missing" ] || fail "libraries not found for /usr/bin/jl" "$missing"

# Complete `jl st` with the function the script registers for jl.
completion_check() {
  local preamble=$1 out
  # shellcheck disable=SC2016 # the script runs in the root's bash
  out=$(in_root bash -c "$preamble"'
    source /usr/share/bash-completion/completions/jl || exit 1
    fn=$(complete -p jl | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
    [ -n "$fn" ] || { echo "no completion function registered for jl"; exit 1; }
    COMP_WORDS=(jl st); COMP_CWORD=1; COMP_LINE="jl st"; COMP_POINT=5
    "$fn" jl st jl
    printf "%s\n" "${COMPREPLY[@]}"' 2>&1) || fail "the bash completion failed ($2)" "$out"
  for word in start status stop; do
    grep -qx "$word" <<<"$out" || fail "completing 'jl st' ($2) does not offer $word" "$out"
  done
  if grep -vx 'st[a-z]*' <<<"$out" | grep -q .; then
    fail "completing 'jl st' ($2) offers words not starting with st" "$out"
  fi
}
completion_check "" "without bash-completion"
in_root apt-get install -y --no-install-recommends bash-completion >>"$work/apt.log" 2>&1 ||
  fail "apt-get install bash-completion failed" "$(tail -15 "$work/apt.log")"
completion_check "source /usr/share/bash-completion/bash_completion;" "with bash-completion"

page=$(in_root man -w jl 2>&1) || fail "man -w jl found no page" "$page"
[ "$page" = /usr/share/man/man1/jl.1.gz ] || fail "man -w jl found $page"
warnings=$(in_root env MANWIDTH=80 MANROFFSEQ='' man --warnings jl 2>&1 >/dev/null)
[ -z "$warnings" ] || fail "man jl warns in the clean root" "$warnings"
in_root env MANWIDTH=80 man jl 2>/dev/null | grep -q 'jl start' || fail "man jl shows no 'jl start'"

step "remove the package"
in_root apt-get remove -y jl >>"$work/apt.log" 2>&1 || fail "apt-get remove jl failed"
for f in /usr/bin/jl /usr/share/man/man1/jl.1.gz /usr/share/bash-completion/completions/jl; do
  [ ! -e "$chroot_dir$f" ] || fail "$f is still there after removing the package"
done

step "ok: $(basename "$deb"), Depends: $depends"
