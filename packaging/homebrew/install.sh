#!/usr/bin/env bash
# Builds, installs and tests jl with Homebrew, from this checkout:
#
#   packaging/homebrew/install.sh
#
# jl has no published release yet, so there is no tarball for a formula to download and no
# public tap to `brew tap`. This script makes the tarball from the checkout's HEAD (commit your
# changes first: only committed files are built), puts jl.rb into a local tap, jl/local, with
# its url, version and sha256 set to that tarball, and runs `brew install` (or `brew reinstall`,
# when jl is installed already) and `brew test`. Run it again after a pull to update.
#
# The tarballs are kept in $JL_BREW_CACHE (default: ~/Library/Caches/jl-homebrew).
# To remove jl: brew uninstall jl/local/jl

set -euo pipefail

die() {
  echo "install.sh: $*" >&2
  exit 1
}

[[ $# -eq 0 ]] || die "takes no arguments (see the comment at its top)"
command -v brew >/dev/null || die "brew not found: install Homebrew first (https://brew.sh)"
command -v git >/dev/null || die "git not found: install the Xcode command line tools (xcode-select --install)"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(git -C "$here" rev-parse --show-toplevel) || die "run this from a git checkout of jl"
tap=jl/local
formula=$tap/jl

# The version and the sources both come from HEAD.
version=$(git -C "$top" show HEAD:CMakeLists.txt |
  sed -n 's/^project(jl VERSION \([0-9][0-9.]*\).*/\1/p') || true
[[ -n $version ]] || die "no 'project(jl VERSION ...)' in CMakeLists.txt at HEAD"
commit=$(git -C "$top" rev-parse --short=12 HEAD)
if ! git -C "$top" diff --quiet HEAD --; then
  echo "install.sh: warning: uncommitted changes are not built, only HEAD ($commit)" >&2
fi

# One tarball per commit: the url changes with the commit, so Homebrew's download cache never
# serves an older tarball under a new checksum, and a tarball already made is reused as it is.
cache=${JL_BREW_CACHE:-$HOME/Library/Caches/jl-homebrew}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd -P)
# A url with blanks is refused by Homebrew; quotes and backslashes would break the Ruby string.
[[ $cache =~ ^[A-Za-z0-9._/+-]+$ ]] ||
  die "the tarball directory '$cache' has characters a file:// url cannot carry as they are; set JL_BREW_CACHE to another directory"
tarball=$cache/jl-$version-$commit.tar.gz
if [[ ! -s $tarball ]]; then
  git -C "$top" archive --format=tar.gz --prefix="jl-$version/" -o "$tarball.part" HEAD
  mv "$tarball.part" "$tarball"
fi
if command -v shasum >/dev/null; then
  sha256=$(shasum -a 256 "$tarball" | cut -d' ' -f1)
else
  sha256=$(sha256sum "$tarball" | cut -d' ' -f1)
fi
[[ $sha256 =~ ^[0-9a-f]{64}$ ]] || die "could not compute the sha256 of $tarball"

# The local tap: a directory under Homebrew's Taps with a Formula directory. Made directly
# rather than with `brew tap-new --no-git`, which is a developer command and would turn
# Homebrew's developer mode on for good.
tap_dir=$(brew --repository "$tap")
mkdir -p "$tap_dir/Formula"

# jl.rb with its url, version and sha256 lines replaced; each must be there exactly once.
JL_URL="file://$tarball" JL_VERSION=$version JL_SHA256=$sha256 awk '
  /^  url "/     { print "  url \"" ENVIRON["JL_URL"] "\"";         url++;     next }
  /^  version "/ { print "  version \"" ENVIRON["JL_VERSION"] "\""; version++; next }
  /^  sha256 "/  { print "  sha256 \"" ENVIRON["JL_SHA256"] "\"";   sha256++;  next }
  { print }
  END { if (url != 1 || version != 1 || sha256 != 1) exit 1 }
' "$here/jl.rb" >"$tap_dir/Formula/jl.rb.part" || {
  rm -f "$tap_dir/Formula/jl.rb.part"
  die "$here/jl.rb must have one url, one version and one sha256 line"
}
mv "$tap_dir/Formula/jl.rb.part" "$tap_dir/Formula/jl.rb"
echo "install.sh: $formula $version from $tarball"

# Homebrew 6 loads formulae of taps other than its own only once they are trusted.
if brew help trust >/dev/null 2>&1; then
  brew trust --formula "$formula"
fi

if brew list --formula --versions "$formula" >/dev/null 2>&1; then
  brew reinstall --build-from-source "$formula"
else
  brew install --build-from-source "$formula"
fi
brew test "$formula"
