#!/usr/bin/env bash
# A real, local test bed for jl: a Docker engine with a few containers (some with
# Jupyter, some without) and an OpenSSH server on 127.0.0.1 through which jl reaches it.
#
# Usage: testbed.sh up|down|status|env|rootfs
#
#   up      build and start everything that is missing (idempotent; fast when already up)
#   down    stop sshd and the registry, remove the test-bed containers (images, caches, keys
#           and the registry's storage are kept)
#   status  report what is up; exit 0 only if everything is up
#   env     print shell exports describing the bed: eval "$(testbed.sh env)"
#   rootfs  make sure the plain Debian root fs tarball (minbase) is cached; print its path
#
# Knobs (environment):
#   JL_TESTBED_DIR     state: keys, sshd config and logs, ssh_config  (default /var/tmp/jl-testbed)
#   JL_TESTBED_CACHE   cached root-fs tarballs, reused when present    (default /var/cache/jl-testbed)
#   JL_TESTBED_MIRROR  Debian mirror for debootstrap                  (default: Debian's own)
#
# The bed touches only what carries its mark: containers it created have the labels
# jl-testbed=1 and jl-testbed.spec (images give only the first, so a container someone else
# made from the bed's image is not the bed's); its host users have the GECOS field
# "jl-testbed"; its state directory holds the file .jl-testbed; its sshd runs with the bed's
# sshd_config. When a name it needs is taken by something without the mark, `up` and `down`
# stop with an error that names the conflict, before they change anything.
#
# Needs root and Debian bookworm with its apt repositories; no outside image registry is used:
# the images are built with debootstrap and `docker import`. The bed runs a registry of its own
# on 127.0.0.1 (Debian's docker-registry) and pushes one image to it.

set -euo pipefail

DIR=${JL_TESTBED_DIR:-/var/tmp/jl-testbed}
CACHE=${JL_TESTBED_CACHE:-/var/cache/jl-testbed}
MIRROR=${JL_TESTBED_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

IMG_PLAIN=jl-testbed/plain:1
IMG_JUPYTER=jl-testbed/jupyter:1
# Images with Jupyter from PyPI: "NAME LOCK PREFIX". The lock (tests/testbed/pypi/LOCK.txt) is
# installed with pip on Debian's Python, into /usr/local as NGC images do, or into a prefix of
# its own (a venv, as conda images have one) that is on PATH only through the image's ENV. The
# tag is a hash of the lock and the prefix.
PYPI_IMAGES=(
  "lab4  lab4 /usr/local"
  "lab3  lab3 /usr/local"
  "nb7   nb7  /usr/local"
  "conda lab4 /opt/conda"
)
PYPI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pypi

HOST_PACKAGES=(docker.io openssh-server debootstrap debian-archive-keyring curl procps iproute2 python3-pip
               dash zsh ksh fish tcsh csh git libpam-oath oathtool docker-registry)
JUPYTER_PACKAGES=(python3-jupyter-server jupyter-server jupyter-core python3-ipykernel
                  python3-notebook jupyter-notebook procps)

# name  image  docker-run options  wanted state
CONTAINERS=(
  "cont1        jupyter  --network=bridge                  running"
  "jltb-root    jupyter  --network=bridge                  running"
  "jltb-user    jupyter  --network=bridge,--user=1000:1000 running"
  "jltb-hostnet jupyter  --network=host                    running"
  "jltb-bare    plain    --network=bridge                  running"
  "jltb-stopped jupyter  --network=bridge                  exited"
  "jltb-lab4    lab4     --network=bridge                  running"
  "jltb-lab3    lab3     --network=bridge                  running"
  "jltb-nb7     nb7      --network=bridge                  running"
  "jltb-conda   conda    --network=bridge                  running"
  # JupyterLab 4 images that fight a launcher: Jupyter config in /etc/jupyter (from
  # jupyter-config/), a uid without a passwd entry (HOME=/), a read-only root file system.
  "jltb-cfgip    lab4     --network=bridge,--volume=$DIR/jupyter-config/ip:/etc/jupyter:ro            running"
  "jltb-baseurl  lab4     --network=bridge,--volume=$DIR/jupyter-config/baseurl:/etc/jupyter:ro       running"
  "jltb-password lab4     --network=bridge,--volume=$DIR/jupyter-config/password:/etc/jupyter:ro      running"
  "jltb-notoken  lab4     --network=bridge,--volume=$DIR/jupyter-config/notoken:/etc/jupyter:ro       running"
  "jltb-slow     lab4     --network=bridge,--volume=$DIR/jupyter-config/slow:/etc/jupyter:ro,--env=PYTHONPATH=/etc/jupyter/python running"
  "jltb-nohome   lab4     --network=bridge,--user=4242:4242 running"
  "jltb-rofs     lab4     --network=bridge,--read-only,--tmpfs=/tmp running"
)
JUPYTER_CONFIG_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/jupyter-config

SSH_HOST=jl-testbed
USER_NODOCKER=jltb-nodocker
USER_NODOCKERBIN=jltb-nodockerbin
# A host user in the docker group whose PATH has the bed's stand-in nvidia-smi first (no GPU
# exists here): it replays recorded nvidia-smi output as the scenario file a test writes says
# (see tests/testbed/nvidia-smi). Every other user has no nvidia-smi.
USER_GPU=jltb-gpu
GPU_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Host users for each login shell sshd may hand jl's commands to, all in the docker group.
# Each shell's startup file prints to stdout and stderr, as real ones do (a greeting, a module
# system). The last two refuse commands; jltb-nologin's home does not exist, so sshd also
# prints "Could not chdir to home directory".
SHELL_USERS=(
  "jltb-dash     /bin/dash"
  "jltb-bash     /bin/bash"
  "jltb-zsh      /bin/zsh"
  "jltb-ksh      /bin/ksh93"
  "jltb-fish     /usr/bin/fish"
  "jltb-tcsh     /bin/tcsh"
  "jltb-csh      /bin/bsd-csh"
  "jltb-nologin  /usr/sbin/nologin"
  "jltb-gitshell /usr/bin/git-shell"
)
FIRST_PORT=2222

# Files in $DIR
SSHD_CONFIG=$DIR/sshd_config
SSHD_PID=$DIR/sshd.pid
SSHD_LOG=$DIR/sshd.log
PORT_FILE=$DIR/port
HOSTKEY=$DIR/hostkey
USERKEY=$DIR/userkey
AUTH_KEYS=$DIR/authorized_keys
USER_CA=$DIR/user_ca
# A second sshd with PAM: a password, then a one-time code (TOTP, pam_oath), for USER_OTP.
# Its PAM service is its program name (sshd names it after argv[0]): OTP_PAM.
USER_OTP=jltb-otp
OTP_PASSWORD=jl-testbed-otp-password
OTP_SECRET=$DIR/otp_secret
OTP_USERS=$DIR/users.oath
OTP_SSHD=$DIR/jl-testbed-otp
OTP_PAM=/etc/pam.d/jl-testbed-otp
SSHD_OTP_CONFIG=$DIR/sshd_otp_config
SSHD_OTP_PID=$DIR/sshd_otp.pid
SSHD_OTP_LOG=$DIR/sshd_otp.log
# A bastion and a host behind it: network namespace NETNS, joined to the host by a veth pair.
# Its sshd listens on NS_ADDR:22 (the bastion, reached from the host) and on 127.0.0.1:2200
# inside the namespace (the inner host, which only the bastion reaches). Its routes and the
# DOCKER-USER rules let the inner host reach the containers.
NETNS=jltb-inner
VETH_HOST=jltb-v0
VETH_NS=jltb-v1
HOST_ADDR=10.231.0.1
NS_ADDR=10.231.0.2
INNER_PORT=2200
SSHD_NS_CONFIG=$DIR/sshd_ns_config
SSHD_NS_PID=$DIR/sshd_ns.pid
SSHD_NS_LOG=$DIR/sshd_ns.log
# An image registry (Debian's docker-registry) on 127.0.0.1, its storage in $DIR; dockerd
# pulls from 127.0.0.0/8 over plain HTTP without any configuration. It holds one image: the
# smallest Jupyter image (REGISTRY_BASE) with REGISTRY_LAYERS layers of random bytes on top,
# so that a pull downloads real bytes in several layers while its base is a layer the host has
# (docker says "Already exists"). Its tag is the base image's id: pushed once per base.
REGISTRY_CONFIG=$DIR/registry.yml
REGISTRY_PID=$DIR/registry.pid
REGISTRY_LOG=$DIR/registry.log
REGISTRY_STORE=$DIR/registry
REGISTRY_PORT_FILE=$DIR/registry_port
REGISTRY_ENV=$DIR/registry.env # the registry's part of `env`
REGISTRY_FIRST_PORT=5100
REGISTRY_REPO=jl-testbed/pull
REGISTRY_BASE=lab4
REGISTRY_LAYERS=(16 32 64) # MiB each
KNOWN_HOSTS=$DIR/known_hosts
SSH_CONFIG=$DIR/ssh_config
ENV_FILE=$DIR/env.sh
NODOCKER_PATH=$DIR/path-without-docker
GPU_DIR=$DIR/gpu
GPU_SCENARIO=$GPU_DIR/scenario
DIR_MARK=$DIR/.jl-testbed

# The marks (see the header)
MARK_LABEL=jl-testbed
SPEC_LABEL=jl-testbed.spec
USER_MARK=jl-testbed

# ---------------------------------------------------------------------------
# helpers

log() { printf 'testbed: %s\n' "$*" >&2; }
die() { printf 'testbed: error: %s\n' "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }
fmt_ms() { printf '%d.%03d s' "$(($1 / 1000))" "$(($1 % 1000))"; }

PHASE_NAME=
PHASE_T0=0
phase() { PHASE_NAME=$1; PHASE_T0=$(now_ms); }
phase_done() { log "$PHASE_NAME: ${1:-done} in $(fmt_ms "$(($(now_ms) - PHASE_T0))")"; }

need_root() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages, starts dockerd and sshd, adds users)"
}

# Things to undo when the script exits, whatever the reason (mounts, build dirs).
CLEANUP_MOUNTS=()
CLEANUP_DIRS=()
cleanup() {
  local i m d
  for ((i = ${#CLEANUP_MOUNTS[@]} - 1; i >= 0; i--)); do
    m=${CLEANUP_MOUNTS[i]}
    if mountpoint -q "$m"; then
      umount "$m" 2>/dev/null || umount -l "$m" || log "warning: could not unmount $m"
    fi
  done
  for d in "${CLEANUP_DIRS[@]}"; do
    # never delete below a path that is still a mount point
    if [[ -d $d ]] && ! grep -qF " $d/" /proc/self/mounts; then
      rm -rf -- "$d"
    fi
  done
}
trap cleanup EXIT

# Serialise concurrent runs (fd 9 is closed for every daemon we spawn).
take_lock() {
  claim_dir
  exec 9>"$DIR/lock"
  flock -w 900 9 || die "another testbed.sh holds $DIR/lock"
}

# The state directory is the bed's when it carries the mark, or when it is new or empty (or
# when an older bed, from before the mark, left its generated sshd_config there).
claim_dir() {
  if [[ -d $DIR && ! -f $DIR_MARK && -f $SSHD_CONFIG ]] &&
    [[ $(head -n 1 "$SSHD_CONFIG") == "# generated by testbed.sh"* ]]; then
    printf 'made by jl tests/testbed/testbed.sh\n' >"$DIR_MARK"
  fi
  if [[ -e $DIR && ! -d $DIR ]]; then
    die "$DIR exists and is not a directory; the test bed keeps its state there (set JL_TESTBED_DIR to use another place)"
  fi
  if [[ -d $DIR && ! -f $DIR_MARK ]] && [[ -n $(ls -A -- "$DIR") ]]; then
    die "$DIR holds files the test bed did not make (it has no .jl-testbed file); nothing was changed. Set JL_TESTBED_DIR to an empty or new directory"
  fi
  mkdir -p "$DIR"
  [[ -f $DIR_MARK ]] || printf 'made by jl tests/testbed/testbed.sh\n' >"$DIR_MARK"
}

port_accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port_free() {
  local p=$1
  ! port_accepts "$p" && [[ -z $(ss -Htln "( sport = :$p )" 2>/dev/null) ]]
}

docker_ok() { docker info >/dev/null 2>&1; }

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null; }

# prints the pid in PIDFILE if that process is alive and runs with CONFIG (one of our sshds)
pid_running_with() { # PIDFILE CONFIG
  local pid
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
  printf '%s\n' "$pid"
}

# stops that process (TERM, then KILL after 5 s) and removes PIDFILE
stop_pid_running_with() { # PIDFILE CONFIG
  local pid i
  pid=$(pid_running_with "$1" "$2") || return 0
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$1"
}

sshd_pid() { pid_running_with "$SSHD_PID" "$SSHD_CONFIG"; }

stored_port() {
  local p
  [[ -s $PORT_FILE ]] || return 1
  p=$(<"$PORT_FILE")
  [[ $p =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$p"
}

# ---------------------------------------------------------------------------
# up: packages

pkg_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]]
}

ensure_packages() {
  phase "packages"
  local p missing=()
  for p in "${HOST_PACKAGES[@]}"; do
    pkg_installed "$p" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    phase_done "all present"
    return
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >"$DIR/apt.log" 2>&1 || die "apt-get update failed, see $DIR/apt.log"
  apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$DIR/apt.log" 2>&1 ||
    die "apt-get install ${missing[*]} failed, see $DIR/apt.log"
  phase_done "installed ${missing[*]}"
}

# ---------------------------------------------------------------------------
# up: dockerd

# Run a daemon in its own session with nothing open but its stdio: a descriptor it inherited (a
# caller's flock, the write end of a pipe someone reads to its end) would live as long as it.
# Call it in the background (`daemon CMD... &`): it becomes CMD, so $! is the daemon's pid.
daemon() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    # 255: bash's own hold on this script, gone with the exec.
    if [[ $fd -gt 2 && $fd -ne 255 ]]; then eval "exec $fd>&-"; fi
  done
  exec setsid "$@"
}

ensure_dockerd() {
  phase "dockerd"
  if docker_ok; then
    phase_done "already running"
    return
  fi
  command -v dockerd >/dev/null || die "dockerd not found"
  log "starting dockerd (log: $DIR/dockerd.log)"
  daemon dockerd >"$DIR/dockerd.log" 2>&1 </dev/null &
  local i
  for ((i = 0; i < 120; i++)); do
    docker_ok && break
    sleep 0.5
  done
  docker_ok || die "dockerd did not answer within 60 s; see $DIR/dockerd.log"
  phase_done "started"
}

# ---------------------------------------------------------------------------
# up: images

chroot_mount_proc() {
  local root=$1
  mount -t proc proc "$root/proc"
  CLEANUP_MOUNTS+=("$root/proc")
  if [[ ! -c $root/dev/null ]]; then
    # debootstrap could not create device nodes here: borrow the host's /dev
    mount --bind /dev "$root/dev"
    CLEANUP_MOUNTS+=("$root/dev")
  fi
}

chroot_umount_all() {
  local i m
  for ((i = ${#CLEANUP_MOUNTS[@]} - 1; i >= 0; i--)); do
    m=${CLEANUP_MOUNTS[i]}
    if mountpoint -q "$m"; then umount "$m"; fi
  done
  CLEANUP_MOUNTS=()
}

# tar a root fs into the cache, atomically
tar_rootfs() {
  local root=$1 out=$2 t0
  t0=$(now_ms)
  tar -C "$root" --numeric-owner \
    --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' \
    --exclude='./var/cache/apt/*.bin' --exclude='./var/lib/apt/lists/*' \
    -cf "$out.tmp" . || die "tar of $root failed"
  mv -f "$out.tmp" "$out"
  log "cached $out ($(du -m "$out" | cut -f1) MiB) in $(fmt_ms "$(($(now_ms) - t0))")"
}

import_image() { # TARBALL NAME [DIRECTORY first on PATH]
  local tarball=$1 name=$2 t0 path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  [[ -n ${3:-} ]] && path=$3:$path
  t0=$(now_ms)
  docker import \
    --change 'CMD ["sleep","infinity"]' \
    --change "ENV PATH=$path" \
    --change 'ENV LANG=C.UTF-8' \
    --change 'LABEL jl-testbed=1' \
    "$tarball" "$name" >/dev/null || die "docker import $tarball failed"
  log "imported $name from $tarball in $(fmt_ms "$(($(now_ms) - t0))")"
}

debootstrap_plain() {
  local root=$1 t0
  t0=$(now_ms)
  log "debootstrap $SUITE (minbase + procps) from $MIRROR (log: $DIR/debootstrap.log)"
  debootstrap --variant=minbase --include=procps "$SUITE" "$root" "$MIRROR" \
    >"$DIR/debootstrap.log" 2>&1 || die "debootstrap failed; see $DIR/debootstrap.log"
  chroot "$root" apt-get clean
  log "debootstrap took $(fmt_ms "$(($(now_ms) - t0))")"
}

install_jupyter() {
  local root=$1 log_file=$DIR/chroot-apt.log t0
  t0=$(now_ms)
  log "installing Jupyter in the root fs (log: $log_file)"
  chroot_mount_proc "$root"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # keep maintainer scripts from starting services inside the chroot
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  {
    chroot "$root" apt-get update &&
      chroot "$root" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${JUPYTER_PACKAGES[@]}"
  } >"$log_file" 2>&1 || die "apt-get install in the chroot failed; see $log_file"
  if ! chroot "$root" getent passwd jupyter >/dev/null; then
    chroot "$root" groupadd -g 1000 jupyter
    chroot "$root" useradd -m -u 1000 -g 1000 -d /home/jupyter -s /bin/bash jupyter
  fi
  chroot "$root" jupyter server --version >/dev/null 2>&1 || die "jupyter server does not run in the new root fs"
  chroot "$root" jupyter notebook --version >/dev/null 2>&1 || die "jupyter notebook does not run in the new root fs"
  chroot "$root" apt-get clean
  rm -f "$root/usr/sbin/policy-rc.d"
  rm -rf "$root"/var/lib/apt/lists/*
  : >"$root/etc/resolv.conf"
  chroot_umount_all
  log "Jupyter install took $(fmt_ms "$(($(now_ms) - t0))")"
}

# The line of PYPI_IMAGES for NAME.
pypi_line() {
  local line
  for line in "${PYPI_IMAGES[@]}"; do
    [[ ${line%% *} == "$1" ]] && { printf '%s\n' "$line"; return; }
  done
  die "no PyPI image $1"
}

# Every PyPI image's name:tag.
pypi_images() {
  local line
  for line in "${PYPI_IMAGES[@]}"; do pypi_image "${line%% *}"; done
}

# The image of a PyPI set: jl-testbed/NAME:HASH.
pypi_image() {
  local name lock prefix
  read -r name lock prefix <<<"$(pypi_line "$1")"
  printf 'jl-testbed/%s:%s\n' "$name" \
    "$( (cat "$PYPI_DIR/$lock.txt"; echo "$prefix") | sha256sum | cut -c1-12)"
}

# The wheels of a lock, fetched once from PyPI into the cache (and only their exact files).
ensure_wheels() {
  local name=$1 lock=$PYPI_DIR/$1.txt dir tmp t0
  dir=$CACHE/wheels/$name-$(sha256sum "$lock" | cut -c1-12)
  if [[ -f $dir/.complete ]]; then
    printf '%s\n' "$dir"
    return
  fi
  t0=$(now_ms)
  [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -m pip --version >/dev/null 2>&1 ||
    die "fetching wheels needs Debian's python3-pip"
  tmp=$dir.tmp
  rm -rf -- "$tmp"
  mkdir -p "$tmp"
  /usr/bin/python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --implementation cp --abi cp311 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --platform any \
    -d "$tmp" -r "$lock" >"$DIR/pip-download-$name.log" 2>&1 ||
    die "fetching the wheels of $lock from PyPI failed; see $DIR/pip-download-$name.log"
  touch "$tmp/.complete"
  rm -rf -- "$dir"
  mv "$tmp" "$dir"
  log "fetched $(find "$dir" -name '*.whl' | wc -l) wheels for $name ($(du -sm "$dir" | cut -f1) MiB) in $(fmt_ms "$(($(now_ms) - t0))")" >&2
  printf '%s\n' "$dir"
}

# Debian's Python and pip in ROOT, then the lock's wheels, offline, into PREFIX (/usr/local,
# or a venv of its own).
install_pypi() {
  local root=$1 name=$2 wheels=$3 lock=$4 prefix=$5 log_file=$DIR/chroot-pypi-$2.log t0 pip
  t0=$(now_ms)
  log "installing $name from PyPI wheels in the root fs (log: $log_file)"
  chroot_mount_proc "$root"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  mkdir -p "$root/tmp/wheels"
  cp "$wheels"/*.whl "$root/tmp/wheels/"
  cp "$PYPI_DIR/$lock.txt" "$root/tmp/wheels/lock.txt"
  pip=(python3 -m pip install --break-system-packages)
  [[ $prefix != /usr/local ]] && pip=("$prefix/bin/python3" -m pip install)
  {
    chroot "$root" apt-get update &&
      chroot "$root" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends python3 python3-pip python3-venv procps &&
      { [[ $prefix == /usr/local ]] || chroot "$root" python3 -m venv "$prefix"; } &&
      chroot "$root" "${pip[@]}" --no-index --no-deps --no-cache-dir --find-links /tmp/wheels \
        -r /tmp/wheels/lock.txt
  } >"$log_file" 2>&1 || die "installing $name in the chroot failed; see $log_file"
  rm -rf "$root/tmp/wheels"
  if ! chroot "$root" getent passwd jupyter >/dev/null; then
    chroot "$root" groupadd -g 1000 jupyter
    chroot "$root" useradd -m -u 1000 -g 1000 -d /home/jupyter -s /bin/bash jupyter
  fi
  chroot "$root" "$prefix/bin/jupyter" server --version >/dev/null 2>&1 || die "jupyter server does not run in the $name root fs"
  chroot "$root" apt-get clean
  rm -f "$root/usr/sbin/policy-rc.d"
  rm -rf "$root"/var/lib/apt/lists/*
  : >"$root/etc/resolv.conf"
  chroot_umount_all
  log "$name install took $(fmt_ms "$(($(now_ms) - t0))")"
}

ensure_pypi_images() {
  phase "PyPI images"
  local line name lock prefix img wheels tarball root made=()
  for line in "${PYPI_IMAGES[@]}"; do
    read -r name lock prefix <<<"$line"
    img=$(pypi_image "$name")
    image_id "$img" >/dev/null && continue
    tarball=$CACHE/${img##*/}.tar
    tarball=${tarball/:/-}
    if [[ ! -s $tarball ]]; then
      wheels=$(ensure_wheels "$lock")
      new_build_root
      root=$BUILD_ROOT
      [[ -s $CACHE/plain.tar ]] || die "$CACHE/plain.tar is missing"
      tar -C "$root" --numeric-owner -xf "$CACHE/plain.tar" || die "cannot unpack $CACHE/plain.tar"
      install_pypi "$root" "$name" "$wheels" "$lock" "$prefix"
      tar_rootfs "$root" "$tarball"
      rm -rf -- "$root"
    fi
    if [[ $prefix == /usr/local ]]; then
      import_image "$tarball" "$img"
    else
      import_image "$tarball" "$img" "$prefix/bin"
    fi
    made+=("$img")
  done
  if ((${#made[@]} > 0)); then phase_done "made ${made[*]}"; else phase_done "present"; fi
}

# Sets BUILD_ROOT to a new, empty directory (removed again when the script exits).
BUILD_ROOT=
new_build_root() {
  mkdir -p "$CACHE"
  BUILD_ROOT=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  CLEANUP_DIRS+=("$BUILD_ROOT")
  chmod 755 "$BUILD_ROOT"
}

ensure_images() {
  phase "images"
  local have_plain=1 have_jupyter=1 root=
  image_id "$IMG_PLAIN" >/dev/null || have_plain=0
  image_id "$IMG_JUPYTER" >/dev/null || have_jupyter=0
  if ((have_plain && have_jupyter)); then
    phase_done "present"
    return
  fi
  mkdir -p "$CACHE"

  # 1. the plain root fs tarball
  if [[ ! -s $CACHE/plain.tar ]] && { ((!have_plain)) || [[ ! -s $CACHE/jupyter.tar ]]; }; then
    new_build_root
    root=$BUILD_ROOT
    debootstrap_plain "$root"
    tar_rootfs "$root" "$CACHE/plain.tar"
  fi
  if ((!have_plain)); then
    import_image "$CACHE/plain.tar" "$IMG_PLAIN"
  fi

  # 2. the Jupyter root fs tarball, derived from the plain one
  if ((!have_jupyter)); then
    if [[ ! -s $CACHE/jupyter.tar ]]; then
      if [[ -z $root ]]; then
        new_build_root
        root=$BUILD_ROOT
        log "unpacking $CACHE/plain.tar to derive the Jupyter root fs"
        tar -C "$root" --numeric-owner -xf "$CACHE/plain.tar" || die "cannot unpack $CACHE/plain.tar"
      fi
      install_jupyter "$root"
      tar_rootfs "$root" "$CACHE/jupyter.tar"
    fi
    import_image "$CACHE/jupyter.tar" "$IMG_JUPYTER"
  fi
  if [[ -n $root ]]; then
    rm -rf -- "$root"
  fi
  phase_done "ready"
}

# ---------------------------------------------------------------------------
# up: containers

# The label jl-testbed.spec records how a container was made; a container whose
# label differs from what we would create now (other image id, options) is recreated.
container_spec() {
  local image=$1 opts=$2 id
  id=$(image_id "$image") || die "image $image missing"
  printf 'image=%s opts=%s\n' "$id" "$opts"
}

image_for() {
  case $1 in
    plain) printf '%s\n' "$IMG_PLAIN" ;;
    jupyter) printf '%s\n' "$IMG_JUPYTER" ;;
    lab4 | lab3 | nb7 | conda) pypi_image "$1" ;;
    *) die "unknown image kind $1" ;;
  esac
}

container_names() {
  local line name
  for line in "${CONTAINERS[@]}"; do
    read -r name _ <<<"$line"
    printf '%s\n' "$name"
  done
}

# name<TAB>state<TAB>spec<TAB>mark<TAB>image for every container that exists under a name
# the bed uses (the bed's or not); a missing label reads "<no value>"
container_table() {
  local names
  mapfile -t names < <(container_names)
  docker inspect --type container \
    -f "{{slice .Name 1}}	{{.State.Status}}	{{index .Config.Labels \"$SPEC_LABEL\"}}	{{index .Config.Labels \"$MARK_LABEL\"}}	{{.Config.Image}}" \
    "${names[@]}" 2>/dev/null | grep -v '^$' || true
}

# Stop, naming them, when containers under the bed's names were not made by the bed.
check_container_names() {
  local table conflicts
  table=$(container_table)
  conflicts=$(awk -F'\t' '$1 != "" && ($3 == "" || $3 == "<no value>" || $4 != "1") { printf "%s%s (%s, image %s)", sep, $1, $2, $5; sep = ", " }' <<<"$table")
  if [[ -n $conflicts ]]; then
    die "container names the test bed needs are taken by containers it did not make: $conflicts; nothing was removed. Rename or remove them yourself (docker rename NAME NEW-NAME), then run $0 $1 again"
  fi
}

# Stop when the bed's host users exist but were not made by the bed.
check_users() {
  local u gecos
  for u in "$USER_NODOCKER" "$USER_NODOCKERBIN" "$USER_GPU" "$USER_OTP" $(shell_user_names); do
    getent passwd "$u" >/dev/null || continue
    gecos=$(getent passwd "$u" | cut -d: -f5)
    if [[ $gecos != "$USER_MARK" ]]; then
      die "host user $u exists and was not made by the test bed (its GECOS field is '${gecos}', not '$USER_MARK'); nothing was changed. Remove or rename that user (or, if an older test bed made it, mark it: usermod -c $USER_MARK $u), then run $0 up again"
    fi
  done
}

# Stop when an image under the bed's tags was not made by the bed.
check_images() {
  local img label
  for img in "$IMG_PLAIN" "$IMG_JUPYTER" $(pypi_images); do
    image_id "$img" >/dev/null || continue
    label=$(docker image inspect -f "{{index .Config.Labels \"$MARK_LABEL\"}}" "$img" 2>/dev/null)
    if [[ $label != 1 ]]; then
      die "image $img exists and was not made by the test bed (no $MARK_LABEL label); nothing was changed. Remove or re-tag it, then run $0 up again"
    fi
  done
}

ensure_containers() {
  phase "containers"
  # The config directories are mounted: refresh their files in place.
  mkdir -p "$DIR/jupyter-config"
  cp -R "$JUPYTER_CONFIG_SRC/." "$DIR/jupyter-config/" || die "cannot copy the Jupyter configs"
  chmod -R a+rX "$DIR/jupyter-config"
  local table line name kind opts want image spec cur_state cur_spec changed=0
  local -a args
  table=$(container_table)
  for line in "${CONTAINERS[@]}"; do
    read -r name kind opts want <<<"$line"
    image=$(image_for "$kind")
    spec=$(container_spec "$image" "$opts")
    cur_state=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' <<<"$table")
    cur_spec=$(awk -F'\t' -v n="$name" '$1 == n { print $3 }' <<<"$table")
    if [[ $cur_state == "$want" && $cur_spec == "$spec" ]]; then
      continue
    fi
    changed=1
    if [[ -n $cur_state ]]; then
      log "$name: is ${cur_state}, wanted ${want}$([[ $cur_spec == "$spec" ]] || echo ' (definition changed)'): recreating"
      docker rm -f "$name" >/dev/null || die "cannot remove container $name"
    else
      log "$name: creating"
    fi
    IFS=, read -r -a args <<<"$opts"
    if [[ $opts != *--network=host* ]]; then
      args+=(--hostname "$name")
    fi
    docker run -d --name "$name" "${args[@]}" \
      --label "$MARK_LABEL=1" --label "$SPEC_LABEL=$spec" \
      "$image" sleep infinity >/dev/null || die "cannot start container $name"
    if [[ $want == exited ]]; then
      docker kill "$name" >/dev/null || die "cannot stop container $name"
      docker wait "$name" >/dev/null 2>&1 || true
    fi
  done
  # check the result
  table=$(container_table)
  for line in "${CONTAINERS[@]}"; do
    read -r name kind opts want <<<"$line"
    cur_state=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' <<<"$table")
    [[ $cur_state == "$want" ]] || die "container $name is '${cur_state:-missing}', wanted $want"
  done
  if ((changed)); then phase_done "ready"; else phase_done "all as wanted"; fi
}

# ---------------------------------------------------------------------------
# up: host users and sshd

ensure_users() {
  local u
  for u in "$USER_NODOCKER" "$USER_NODOCKERBIN"; do
    if ! getent passwd "$u" >/dev/null; then
      local shell=/bin/bash
      # /bin/sh reads no startup file in a non-interactive ssh session, so the PATH
      # set by sshd (see sshd_config) is what the command sees
      [[ $u == "$USER_NODOCKERBIN" ]] && shell=/bin/sh
      useradd -m -s "$shell" -c "$USER_MARK" "$u" || die "useradd $u failed"
      log "created host user $u"
    fi
    # With UsePAM no, sshd refuses accounts whose password field starts with '!'
    # (useradd's default); '*' means "no password" without locking the account.
    if [[ $(getent shadow "$u" | cut -d: -f2) == '!'* ]]; then
      usermod -p '*' "$u"
    fi
    if id -nG "$u" | tr ' ' '\n' | grep -qx docker; then
      gpasswd -d "$u" docker >/dev/null
    fi
  done
}

shell_user_names() {
  local line
  for line in "${SHELL_USERS[@]}"; do printf '%s\n' "${line%% *}"; done
}

# The startup files of the shell users: each prints a line on stdout (one without a final
# newline) and one on stderr.
write_shell_rc() {
  local u=$1 shell=$2 home
  home=$(getent passwd "$u" | cut -d: -f6)
  [[ -d $home ]] || return 0
  case $shell in
    */bash) printf '%s\n' 'echo "bashrc: welcome, $USER"' 'echo "bashrc: module: loaded cuda/12.4" >&2' >"$home/.bashrc" ;;
    */zsh) printf '%s\n' 'printf "zshenv: no newline here"' 'echo "zshenv: module: loaded cuda/12.4" >&2' >"$home/.zshenv" ;;
    */fish)
      mkdir -p "$home/.config/fish"
      printf '%s\n' 'echo "config.fish: welcome, $USER"' 'echo "config.fish: module: loaded" >&2' >"$home/.config/fish/config.fish"
      chown -R "$u:" "$home/.config"
      ;;
    */tcsh) printf '%s\n' 'echo "tcshrc: welcome, $USER"' 'echo "tcshrc: module: loaded" > /dev/stderr' >"$home/.tcshrc" ;;
    */bsd-csh) printf '%s\n' 'echo "cshrc: welcome, $USER"' 'echo "cshrc: module: loaded" > /dev/stderr' >"$home/.cshrc" ;;
  esac
}

ensure_shell_users() {
  local line u shell
  for line in "${SHELL_USERS[@]}"; do
    read -r u shell <<<"$line"
    [[ -x $shell ]] || die "login shell $shell for $u is missing (package not installed?)"
    if ! getent passwd "$u" >/dev/null; then
      if [[ $u == jltb-nologin ]]; then
        useradd -M -d "/nonexistent/$u" -s "$shell" -c "$USER_MARK" "$u" || die "useradd $u failed"
      else
        useradd -m -s "$shell" -c "$USER_MARK" "$u" || die "useradd $u failed"
      fi
      log "created host user $u ($shell)"
    elif [[ $(getent passwd "$u" | cut -d: -f7) != "$shell" ]]; then
      usermod -s "$shell" "$u"
    fi
    if [[ $(getent shadow "$u" | cut -d: -f2) == '!'* ]]; then
      usermod -p '*' "$u"
    fi
    id -nG "$u" | tr ' ' '\n' | grep -qx docker || usermod -aG docker "$u"
    write_shell_rc "$u" "$shell"
  done
}

# A PATH directory with everything in /usr/bin except docker, for jltb-nodockerbin:
# usual tools work, `docker` is not found. Rebuilt only when /usr/bin changed.
ensure_nodocker_path() {
  if [[ -d $NODOCKER_PATH && ! /usr/bin -nt $NODOCKER_PATH && ! -e $NODOCKER_PATH/docker ]]; then
    return
  fi
  local tmp=$NODOCKER_PATH.new
  rm -rf -- "$tmp"
  mkdir -p "$tmp"
  find /usr/bin -mindepth 1 -maxdepth 1 ! -name 'docker*' -exec ln -s -t "$tmp" {} +
  chmod 755 "$tmp"
  rm -rf -- "$NODOCKER_PATH"
  mv "$tmp" "$NODOCKER_PATH"
}

# The GPU user (in the docker group, /bin/sh: no startup file changes the PATH sshd sets) and
# the stand-in nvidia-smi with its recorded captures, in the bed's own directory.
ensure_gpu_user() {
  if ! getent passwd "$USER_GPU" >/dev/null; then
    useradd -m -s /bin/sh -c "$USER_MARK" "$USER_GPU" || die "useradd $USER_GPU failed"
    log "created host user $USER_GPU"
  fi
  if [[ $(getent shadow "$USER_GPU" | cut -d: -f2) == '!'* ]]; then
    usermod -p '*' "$USER_GPU"
  fi
  id -nG "$USER_GPU" | tr ' ' '\n' | grep -qx docker || usermod -aG docker "$USER_GPU"
  install -d -m 0755 "$GPU_DIR" "$GPU_DIR/bin" "$GPU_DIR/fixtures"
  install -m 0755 "$GPU_SRC/nvidia-smi" "$GPU_DIR/bin/nvidia-smi"
  install -m 0644 "$GPU_SRC"/gpus/*.csv "$GPU_DIR/fixtures/"
}

ensure_keys() {
  if [[ ! -s $HOSTKEY || ! -s $HOSTKEY.pub ]]; then
    rm -f "$HOSTKEY" "$HOSTKEY.pub"
    ssh-keygen -q -t ed25519 -N '' -C jl-testbed-host -f "$HOSTKEY"
    log "generated host key $HOSTKEY"
  fi
  if [[ ! -s $USERKEY || ! -s $USERKEY.pub ]]; then
    rm -f "$USERKEY" "$USERKEY.pub"
    ssh-keygen -q -t ed25519 -N '' -C jl-testbed-user -f "$USERKEY"
    log "generated user key $USERKEY"
  fi
  if [[ ! -s $USER_CA || ! -s $USER_CA.pub ]]; then
    rm -f "$USER_CA" "$USER_CA.pub"
    ssh-keygen -q -t ed25519 -N '' -C jl-testbed-user-ca -f "$USER_CA"
    log "generated user CA $USER_CA"
  fi
  chmod 0644 "$USER_CA.pub"
  # sshd reads authorized_keys with the privileges of the user logging in
  install -m 0644 "$USERKEY.pub" "$AUTH_KEYS"
}

sshd_config_text() {
  local port=$1
  cat <<EOF
# generated by testbed.sh; rewritten by every 'up'
# port: the bed's server; port+1: the same, allowing two tries (MaxAuthTries 2, as strict
# sites do); port+2: user certificates signed by the bed's CA only (no authorized_keys)
Port $port
Port $((port + 1))
Port $((port + 2))
ListenAddress 127.0.0.1
HostKey $HOSTKEY
PidFile $SSHD_PID
AuthorizedKeysFile $AUTH_KEYS
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin yes
AllowTcpForwarding yes
MaxSessions 64
MaxStartups 100:30:200
LogLevel VERBOSE
Subsystem sftp internal-sftp

# A user for whom the docker command is not on PATH (SetEnv is applied after
# sshd sets its default PATH, so it overrides it).
Match User $USER_NODOCKERBIN
  SetEnv PATH=$NODOCKER_PATH

# The GPU user: the stand-in nvidia-smi first on PATH, and where its scenario and captures are.
Match User $USER_GPU
  SetEnv PATH=$GPU_DIR/bin:/usr/local/bin:/usr/bin:/bin JLTB_GPU_SCENARIO=$GPU_SCENARIO JLTB_GPU_FIXTURES=$GPU_DIR/fixtures

Match LocalPort $((port + 1))
  MaxAuthTries 2

Match LocalPort $((port + 2))
  TrustedUserCAKeys $USER_CA.pub
  AuthorizedKeysFile none
EOF
}

stop_sshd() { stop_pid_running_with "$SSHD_PID" "$SSHD_CONFIG"; }

# sshd listens on three ports in a row (see sshd_config_text), the PAM sshd on the fourth
ports_free() { port_free "$1" && port_free "$(($1 + 1))" && port_free "$(($1 + 2))" && port_free "$(($1 + 3))"; }

pick_port() {
  local p
  if p=$(stored_port) && ports_free "$p"; then
    printf '%s\n' "$p"
    return
  fi
  for ((p = FIRST_PORT; p < FIRST_PORT + 200; p++)); do
    if ports_free "$p"; then
      printf '%s\n' "$p"
      return
    fi
  done
  die "no free TCP port in $FIRST_PORT..$((FIRST_PORT + 199)) on 127.0.0.1"
}

# ---------------------------------------------------------------------------
# up: the sshd with PAM (password + one-time code)

otp_sshd_config_text() {
  cat <<EOF
# generated by testbed.sh; rewritten by every 'up'
Port $(($1 + 3))
ListenAddress 127.0.0.1
HostKey $HOSTKEY
PidFile $SSHD_OTP_PID
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
AuthenticationMethods keyboard-interactive
AllowUsers $USER_OTP
AllowTcpForwarding yes
StrictModes no
MaxSessions 64
LogLevel VERBOSE
EOF
}

otp_sshd_pid() { pid_running_with "$SSHD_OTP_PID" "$SSHD_OTP_CONFIG"; }
stop_otp_sshd() { stop_pid_running_with "$SSHD_OTP_PID" "$SSHD_OTP_CONFIG"; }

ensure_otp() {
  local port=$PORT
  if ! getent passwd "$USER_OTP" >/dev/null; then
    useradd -m -s /bin/bash -c "$USER_MARK" "$USER_OTP" || die "useradd $USER_OTP failed"
    log "created host user $USER_OTP"
  fi
  id -nG "$USER_OTP" | tr ' ' '\n' | grep -qx docker || usermod -aG docker "$USER_OTP"
  printf '%s:%s\n' "$USER_OTP" "$OTP_PASSWORD" | chpasswd
  if [[ ! -s $OTP_SECRET ]]; then
    (umask 077 && head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$OTP_SECRET")
  fi
  if [[ ! -s $OTP_USERS ]] || ! grep -q "$(cat "$OTP_SECRET")" "$OTP_USERS"; then
    (umask 077 && printf 'HOTP/T30/6 %s - %s\n' "$USER_OTP" "$(cat "$OTP_SECRET")" >"$OTP_USERS")
  fi
  if [[ -e $OTP_PAM ]] && ! grep -q "^# jl-testbed" "$OTP_PAM"; then
    die "$OTP_PAM exists and was not made by the test bed; nothing was changed"
  fi
  cat >"$OTP_PAM" <<EOF
# jl-testbed: the PAM service of the test bed's second sshd; removed by testbed.sh down
auth requisite pam_unix.so
auth required pam_oath.so usersfile=$OTP_USERS window=6 digits=6
account required pam_unix.so
session required pam_permit.so
EOF
  ln -sfn /usr/sbin/sshd "$OTP_SSHD"
  if otp_sshd_pid >/dev/null && port_accepts "$((port + 3))" &&
    [[ -f $SSHD_OTP_CONFIG && $(<"$SSHD_OTP_CONFIG") == "$(otp_sshd_config_text "$port")" ]]; then
    return
  fi
  stop_otp_sshd
  otp_sshd_config_text "$port" >"$SSHD_OTP_CONFIG"
  "$OTP_SSHD" -t -f "$SSHD_OTP_CONFIG" || die "sshd rejects $SSHD_OTP_CONFIG"
  "$OTP_SSHD" -f "$SSHD_OTP_CONFIG" -E "$SSHD_OTP_LOG" </dev/null >/dev/null 2>&1 9>&- ||
    die "the PAM sshd failed to start; see $SSHD_OTP_LOG"
  local i
  for ((i = 0; i < 150; i++)); do
    port_accepts "$((port + 3))" && otp_sshd_pid >/dev/null && break
    sleep 0.1
  done
  port_accepts "$((port + 3))" || die "the PAM sshd does not accept connections on 127.0.0.1:$((port + 3)); see $SSHD_OTP_LOG"
  log "PAM sshd (password + one-time code) on 127.0.0.1:$((port + 3))"
}

# ---------------------------------------------------------------------------
# up: the bastion and the inner host (a network namespace)

ns_sshd_config_text() {
  cat <<EOF
# generated by testbed.sh; rewritten by every 'up'
ListenAddress $NS_ADDR:22
ListenAddress 127.0.0.1:$INNER_PORT
HostKey $HOSTKEY
PidFile $SSHD_NS_PID
AuthorizedKeysFile $AUTH_KEYS
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin yes
AllowTcpForwarding yes
MaxSessions 64
MaxStartups 100:30:200
LogLevel VERBOSE
EOF
}

ns_sshd_pid() { pid_running_with "$SSHD_NS_PID" "$SSHD_NS_CONFIG"; }

stop_ns() {
  stop_pid_running_with "$SSHD_NS_PID" "$SSHD_NS_CONFIG"
  while iptables -D DOCKER-USER -i "$VETH_HOST" -o docker0 -j ACCEPT 2>/dev/null; do :; done
  while iptables -D DOCKER-USER -i docker0 -o "$VETH_HOST" -j ACCEPT 2>/dev/null; do :; done
  if ip netns list | grep -qw "$NETNS"; then ip netns del "$NETNS"; fi
  ip link del "$VETH_HOST" 2>/dev/null || true
}

ensure_netns() {
  if ! ip netns list | grep -qw "$NETNS"; then
    ip link del "$VETH_HOST" 2>/dev/null || true
    ip netns add "$NETNS" || die "cannot create the network namespace $NETNS"
    ip link add "$VETH_HOST" type veth peer name "$VETH_NS" || die "cannot create the veth pair"
    ip link set "$VETH_NS" netns "$NETNS"
    ip addr add "$HOST_ADDR/30" dev "$VETH_HOST"
    ip link set "$VETH_HOST" up
    ip netns exec "$NETNS" ip addr add "$NS_ADDR/30" dev "$VETH_NS"
    ip netns exec "$NETNS" ip link set "$VETH_NS" up
    ip netns exec "$NETNS" ip link set lo up
    ip netns exec "$NETNS" ip route add default via "$HOST_ADDR"
  fi
  # the inner host reaches the containers (and their answers come back)
  iptables -C DOCKER-USER -i "$VETH_HOST" -o docker0 -j ACCEPT 2>/dev/null ||
    iptables -I DOCKER-USER -i "$VETH_HOST" -o docker0 -j ACCEPT
  iptables -C DOCKER-USER -i docker0 -o "$VETH_HOST" -j ACCEPT 2>/dev/null ||
    iptables -I DOCKER-USER -i docker0 -o "$VETH_HOST" -j ACCEPT
  if ns_sshd_pid >/dev/null && [[ -f $SSHD_NS_CONFIG && $(<"$SSHD_NS_CONFIG") == "$(ns_sshd_config_text)" ]] &&
    ip netns exec "$NETNS" bash -c "exec 3<>/dev/tcp/127.0.0.1/$INNER_PORT" 2>/dev/null; then
    return
  fi
  stop_pid_running_with "$SSHD_NS_PID" "$SSHD_NS_CONFIG"
  ns_sshd_config_text >"$SSHD_NS_CONFIG"
  /usr/sbin/sshd -t -f "$SSHD_NS_CONFIG" || die "sshd rejects $SSHD_NS_CONFIG"
  ip netns exec "$NETNS" /usr/sbin/sshd -f "$SSHD_NS_CONFIG" -E "$SSHD_NS_LOG" </dev/null >/dev/null 2>&1 9>&- ||
    die "the bastion's sshd failed to start; see $SSHD_NS_LOG"
  local i
  for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/$NS_ADDR/22") 2>/dev/null && break
    sleep 0.1
  done
  (exec 3<>"/dev/tcp/$NS_ADDR/22") 2>/dev/null || die "the bastion does not accept connections on $NS_ADDR:22; see $SSHD_NS_LOG"
  (exec 3<>"/dev/tcp/127.0.0.1/$INNER_PORT") 2>/dev/null &&
    die "the inner host's port 127.0.0.1:$INNER_PORT is reachable from the host; it must be reachable only through the bastion"
  log "bastion on $NS_ADDR:22, inner host on 127.0.0.1:$INNER_PORT inside $NETNS"
}

PORT=
ensure_sshd() {
  phase "sshd"
  ensure_users
  ensure_shell_users
  ensure_nodocker_path
  ensure_gpu_user
  ensure_keys
  mkdir -p /run/sshd
  chmod 0755 "$DIR"

  local pid port
  if pid=$(sshd_pid) && port=$(stored_port) && port_accepts "$port" &&
    [[ -f $SSHD_CONFIG && $(<"$SSHD_CONFIG") == "$(sshd_config_text "$port")" ]]; then
    PORT=$port
    phase_done "already running (pid $pid, port $PORT)"
    return
  fi
  stop_sshd
  PORT=$(pick_port)
  sshd_config_text "$PORT" >"$SSHD_CONFIG"
  /usr/sbin/sshd -t -f "$SSHD_CONFIG" || die "sshd rejects $SSHD_CONFIG"
  printf '%s\n' "$PORT" >"$PORT_FILE"
  /usr/sbin/sshd -f "$SSHD_CONFIG" -E "$SSHD_LOG" </dev/null >/dev/null 2>&1 9>&- ||
    die "sshd failed to start; see $SSHD_LOG"
  # sshd listens before it writes its pid file, so wait for both.
  local i
  for ((i = 0; i < 150; i++)); do
    port_accepts "$PORT" && sshd_pid >/dev/null && break
    sleep 0.1
  done
  port_accepts "$PORT" || die "sshd does not accept connections on 127.0.0.1:$PORT within 15 s; see $SSHD_LOG"
  sshd_pid >/dev/null || die "sshd is not running per $SSHD_PID within 15 s; see $SSHD_LOG"
  phase_done "started on 127.0.0.1:$PORT"
}

# ---------------------------------------------------------------------------
# up: the image registry

registry_config_text() {
  cat <<EOF
# generated by testbed.sh; rewritten by every 'up'
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $REGISTRY_STORE
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$1
EOF
}

registry_pid() { pid_running_with "$REGISTRY_PID" "$REGISTRY_CONFIG"; }
stop_registry() { stop_pid_running_with "$REGISTRY_PID" "$REGISTRY_CONFIG"; }

registry_answers() { curl -sf -m 5 "http://127.0.0.1:$1/v2/" >/dev/null 2>&1; }

pick_registry_port() {
  local p
  if [[ -s $REGISTRY_PORT_FILE ]]; then
    p=$(<"$REGISTRY_PORT_FILE")
    if [[ $p =~ ^[0-9]+$ ]] && port_free "$p"; then
      printf '%s\n' "$p"
      return
    fi
  fi
  for ((p = REGISTRY_FIRST_PORT; p < REGISTRY_FIRST_PORT + 200; p++)); do
    if port_free "$p"; then
      printf '%s\n' "$p"
      return
    fi
  done
  die "no free TCP port in $REGISTRY_FIRST_PORT..$((REGISTRY_FIRST_PORT + 199)) on 127.0.0.1"
}

# The registry's tag of the pull image: the base image's id, so a new base is pushed anew.
registry_tag() {
  local id
  id=$(image_id "$(image_for "$REGISTRY_BASE")") || die "image $(image_for "$REGISTRY_BASE") missing"
  id=${id#sha256:}
  printf '%s\n' "${id:0:12}"
}

registry_has() { # PORT TAG
  curl -sf -m 10 -o /dev/null \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://127.0.0.1:$1/v2/$REGISTRY_REPO/manifests/$2"
}

REGISTRY_PORT=
ensure_registry() {
  phase "registry"
  mkdir -p "$REGISTRY_STORE"
  local pid port why=
  if ! pid=$(registry_pid); then
    why="not running"
  elif ! [[ -s $REGISTRY_PORT_FILE ]] || ! port=$(<"$REGISTRY_PORT_FILE") ||
    ! [[ -f $REGISTRY_CONFIG && $(<"$REGISTRY_CONFIG") == "$(registry_config_text "$port")" ]]; then
    why="its configuration changed"
  elif ! registry_answers "$port"; then
    why="it does not answer on 127.0.0.1:$port"
  fi
  if [[ -z $why ]]; then
    REGISTRY_PORT=$port
    log "registry already running (pid $pid, port $REGISTRY_PORT)"
  else
    log "registry: $why: (re)starting it"
    stop_registry
    REGISTRY_PORT=$(pick_registry_port)
    registry_config_text "$REGISTRY_PORT" >"$REGISTRY_CONFIG"
    printf '%s\n' "$REGISTRY_PORT" >"$REGISTRY_PORT_FILE"
    daemon docker-registry serve "$REGISTRY_CONFIG" >>"$REGISTRY_LOG" 2>&1 </dev/null &
    printf '%s\n' "$!" >"$REGISTRY_PID"
    local i
    for ((i = 0; i < 150; i++)); do
      registry_answers "$REGISTRY_PORT" && break
      registry_pid >/dev/null || break
      sleep 0.1
    done
    registry_answers "$REGISTRY_PORT" || die "the registry does not answer on 127.0.0.1:$REGISTRY_PORT; see $REGISTRY_LOG"
    log "registry started on 127.0.0.1:$REGISTRY_PORT (pid $(registry_pid))"
  fi
  local tag ref img layer c=jltb-registry-build i=0 t0
  tag=$(registry_tag)
  ref=127.0.0.1:$REGISTRY_PORT/$REGISTRY_REPO:$tag
  {
    printf 'export JL_TESTBED_REGISTRY=%q\n' "127.0.0.1:$REGISTRY_PORT"
    printf 'export JL_TESTBED_REGISTRY_IMAGE=%q\n' "$REGISTRY_REPO:$tag"
    printf 'export JL_TESTBED_REGISTRY_LAYERS=%q\n' "$((${#REGISTRY_LAYERS[@]} + 1))"
  } >"$REGISTRY_ENV.tmp"
  mv -f "$REGISTRY_ENV.tmp" "$REGISTRY_ENV"
  if registry_has "$REGISTRY_PORT" "$tag"; then
    phase_done "$ref present"
    return
  fi
  t0=$(now_ms)
  img=$(image_for "$REGISTRY_BASE")
  if docker inspect --type container "$c" >/dev/null 2>&1; then
    [[ $(docker inspect --type container -f "{{index .Config.Labels \"$MARK_LABEL\"}}" "$c") == 1 ]] ||
      die "container $c exists and was not made by the test bed; nothing was changed"
    docker rm -f "$c" >/dev/null
  fi
  for layer in "${REGISTRY_LAYERS[@]}"; do
    i=$((i + 1))
    docker run --name "$c" --label "$MARK_LABEL=1" "$img" \
      sh -c "head -c ${layer}M /dev/urandom >/opt/jl-testbed-layer-$i" >/dev/null ||
      die "cannot make layer $i of $ref"
    docker commit "$c" "$ref" >/dev/null || die "cannot commit layer $i of $ref"
    docker rm "$c" >/dev/null
    img=$ref
  done
  docker push -q "$ref" >"$DIR/registry-push.log" 2>&1 || die "docker push $ref failed; see $DIR/registry-push.log"
  # Pulls start without it: only the bed's base image stays on the host.
  docker rmi "$ref" >/dev/null || die "cannot remove the local tag $ref"
  registry_has "$REGISTRY_PORT" "$tag" || die "the registry does not list $ref after the push"
  log "pushed $ref ($(image_for "$REGISTRY_BASE") with layers of ${REGISTRY_LAYERS[*]} MiB) in $(fmt_ms "$(($(now_ms) - t0))")"
  phase_done "$ref pushed"
}

# ---------------------------------------------------------------------------
# up: client files and checks

# ssh_config value: quoted only when it needs to be
ssh_value() {
  if [[ $1 =~ [[:space:]] ]]; then printf '"%s"' "$1"; else printf '%s' "$1"; fi
}

ssh_host_block() {
  local alias=$1 user=$2
  cat <<EOF
Host $alias
  HostName 127.0.0.1
  Port $PORT
  User $user
  IdentityFile $(ssh_value "$USERKEY")
  UserKnownHostsFile $(ssh_value "$KNOWN_HOSTS")
  StrictHostKeyChecking yes
  IdentitiesOnly yes
EOF
}

write_client_files() {
  local type key _
  read -r type key _ <"$HOSTKEY.pub"
  printf '[127.0.0.1]:%s %s %s\n' "$PORT" "$type" "$key" "$((PORT + 1))" "$type" "$key" \
    "$((PORT + 2))" "$type" "$key" "$((PORT + 3))" "$type" "$key" >"$KNOWN_HOSTS.tmp"
  printf '%s %s %s\n[127.0.0.1]:%s %s %s\n' "$NS_ADDR" "$type" "$key" "$INNER_PORT" "$type" "$key" \
    >>"$KNOWN_HOSTS.tmp"
  mv -f "$KNOWN_HOSTS.tmp" "$KNOWN_HOSTS"

  (
    umask 077
    {
      ssh_host_block "$SSH_HOST" root
      ssh_host_block "$SSH_HOST-nodocker" "$USER_NODOCKER"
      ssh_host_block "$SSH_HOST-nodockerbin" "$USER_NODOCKERBIN"
      ssh_host_block "$SSH_HOST-gpu" "$USER_GPU"
    } >"$SSH_CONFIG.tmp"
  )
  chmod 0600 "$SSH_CONFIG.tmp"
  mv -f "$SSH_CONFIG.tmp" "$SSH_CONFIG"

  {
    printf 'export JL_TESTBED_DIR=%q\n' "$DIR"
    printf 'export JL_TESTBED_SSH_CONFIG=%q\n' "$SSH_CONFIG"
    printf 'export JL_TESTBED_HOST=%q\n' "$SSH_HOST"
    printf 'export JL_TESTBED_PORT=%q\n' "$PORT"
    printf 'export JL_TESTBED_PORT_MAXTRIES=%q\n' "$((PORT + 1))"
    printf 'export JL_TESTBED_PORT_CERT=%q\n' "$((PORT + 2))"
    printf 'export JL_TESTBED_USER_CA=%q\n' "$USER_CA"
    printf 'export JL_TESTBED_PORT_OTP=%q\n' "$((PORT + 3))"
    printf 'export JL_TESTBED_BASTION=%q\n' "$NS_ADDR"
    printf 'export JL_TESTBED_INNER_PORT=%q\n' "$INNER_PORT"
    printf 'export JL_TESTBED_NETNS=%q\n' "$NETNS"
    printf 'export JL_TESTBED_OTP_USER=%q\n' "$USER_OTP"
    printf 'export JL_TESTBED_OTP_PASSWORD=%q\n' "$OTP_PASSWORD"
    printf 'export JL_TESTBED_OTP_SECRET=%q\n' "$OTP_SECRET"
    printf 'export JL_TESTBED_USERKEY=%q\n' "$USERKEY"
    printf 'export JL_TESTBED_KNOWN_HOSTS=%q\n' "$KNOWN_HOSTS"
    printf 'export JL_TESTBED_HOSTKEY_PUB=%q\n' "$HOSTKEY.pub"
    printf 'export JL_TESTBED_GPU_HOST=%q\n' "$SSH_HOST-gpu"
    printf 'export JL_TESTBED_GPU_USER=%q\n' "$USER_GPU"
    printf 'export JL_TESTBED_GPU_SCENARIO=%q\n' "$GPU_SCENARIO"
  } >"$ENV_FILE.tmp"
  mv -f "$ENV_FILE.tmp" "$ENV_FILE"
}

tb_ssh() {
  ssh -F "$SSH_CONFIG" -o BatchMode=yes -o ConnectTimeout=10 "$@" </dev/null
}

verify_ssh() {
  phase "ssh checks"
  local out1 out2 out3 rc2=0 rc3=0 f1 f2 f3
  f1=$(mktemp) f2=$(mktemp) f3=$(mktemp)
  # run the three logins in parallel
  tb_ssh "$SSH_HOST" docker ps >"$f1" 2>&1 &
  local p1=$!
  tb_ssh "$SSH_HOST-nodocker" docker ps >"$f2" 2>&1 &
  local p2=$!
  tb_ssh "$SSH_HOST-nodockerbin" \
    'if command -v docker; then echo "docker found"; exit 3; fi; echo ok | cat' >"$f3" 2>&1 &
  local p3=$!
  if ! wait "$p1"; then
    out1=$(<"$f1")
    rm -f "$f1" "$f2" "$f3"
    die "ssh $SSH_HOST docker ps failed: $out1"
  fi
  wait "$p2" || rc2=$?
  wait "$p3" || rc3=$?
  out2=$(<"$f2") out3=$(<"$f3")
  rm -f "$f1" "$f2" "$f3"
  if ((rc2 == 0)) || ! grep -qi 'permission denied' <<<"$out2"; then
    die "ssh $SSH_HOST-nodocker docker ps should fail with 'permission denied'; got (rc $rc2): $out2"
  fi
  if ((rc3 != 0)) || [[ $out3 != ok ]]; then
    die "ssh $SSH_HOST-nodockerbin: expected no docker on PATH but a working shell; got (rc $rc3): $out3"
  fi
  # the GPU user: the stand-in nvidia-smi first on its PATH, and docker
  local out4
  out4=$(tb_ssh "$SSH_HOST-gpu" 'command -v nvidia-smi && docker ps -q >/dev/null && echo docker-ok' 2>&1) ||
    die "ssh $SSH_HOST-gpu failed: $out4"
  [[ $out4 == "$GPU_DIR/bin/nvidia-smi"$'\n'docker-ok ]] ||
    die "ssh $SSH_HOST-gpu: expected $GPU_DIR/bin/nvidia-smi on PATH and a working docker; got: $out4"
  # every shell user logs in (in parallel); those that run commands run this one, under
  # their shell
  local line u shell out rc tmp
  local -A pids=()
  tmp=$(mktemp -d)
  for line in "${SHELL_USERS[@]}"; do
    read -r u shell <<<"$line"
    tb_ssh -l "$u" "$SSH_HOST" 'echo shell-ok' >"$tmp/$u" 2>/dev/null &
    pids[$u]=$!
  done
  for line in "${SHELL_USERS[@]}"; do
    read -r u shell <<<"$line"
    rc=0
    wait "${pids[$u]}" || rc=$?
    out=$(<"$tmp/$u")
    case $u in
      jltb-nologin | jltb-gitshell)
        ((rc != 0)) || { rm -rf "$tmp"; die "ssh as $u should be refused by its shell $shell; it ran: $out"; } ;;
      *)
        ((rc == 0)) && [[ $out == *shell-ok ]] || { rm -rf "$tmp"; die "ssh as $u ($shell) failed (rc $rc): $out"; } ;;
    esac
  done
  rm -rf "$tmp"
  phase_done "root: docker works; $USER_NODOCKER: permission denied; $USER_NODOCKERBIN: no docker on PATH; $USER_GPU: the stand-in nvidia-smi; ${#SHELL_USERS[@]} login shells as wanted"
}

# ---------------------------------------------------------------------------
# commands

cmd_up() {
  need_root
  local t0
  t0=$(now_ms)
  take_lock
  ensure_packages
  ensure_dockerd
  check_container_names up
  check_users
  check_images
  ensure_images
  ensure_pypi_images
  ensure_containers
  ensure_registry
  ensure_sshd
  ensure_otp
  ensure_netns
  write_client_files
  verify_ssh
  log "up in $(fmt_ms "$(($(now_ms) - t0))")"
  log "  ssh:  ssh -F $SSH_CONFIG $SSH_HOST    (also $SSH_HOST-nodocker, $SSH_HOST-nodockerbin, $SSH_HOST-gpu)"
  log "  env:  eval \"\$($0 env)\""
  log "  try:  jl -F $SSH_CONFIG -H $SSH_HOST start cont1"
  log "  containers: $(container_names | tr '\n' ' ')"
}

cmd_down() {
  need_root
  take_lock
  phase "down"
  local ours=()
  if docker_ok; then
    check_container_names down
    # every container the bed made (both labels set): those under its names, checked above,
    # and any others (such as a suite's own)
    mapfile -t ours < <(docker ps -aq --no-trunc --filter "label=$MARK_LABEL=1" --filter "label=$SPEC_LABEL")
  fi
  stop_sshd
  stop_otp_sshd
  stop_ns
  stop_registry
  if [[ -f $OTP_PAM ]] && grep -q "^# jl-testbed" "$OTP_PAM"; then rm -f "$OTP_PAM"; fi
  log "sshd and the registry stopped"
  if docker_ok; then
    if ((${#ours[@]} > 0)); then
      docker rm -f "${ours[@]}" >/dev/null || die "cannot remove the test-bed containers ${ours[*]}"
    fi
    log "containers removed (${#ours[@]})"
  else
    log "dockerd not reachable: no containers to remove"
  fi
  rm -f "$ENV_FILE" "$REGISTRY_ENV"
  phase_done
}

# Prints a report; returns 0 only if everything is up.
check_status() {
  local ok=0 line name kind opts want state table pid port
  if docker_ok; then
    echo "dockerd: running"
    local img
    for img in "$IMG_PLAIN" "$IMG_JUPYTER" $(pypi_images); do
      if image_id "$img" >/dev/null; then echo "image $img: present"; else echo "image $img: MISSING"; ok=1; fi
    done
    table=$(container_table)
    for line in "${CONTAINERS[@]}"; do
      read -r name kind opts want <<<"$line"
      state=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' <<<"$table")
      if [[ $state == "$want" ]]; then
        echo "container $name: $state"
      else
        echo "container $name: ${state:-missing} (wanted $want)"
        ok=1
      fi
    done
  else
    echo "dockerd: NOT REACHABLE (not running, or no permission on its socket)"
    ok=1
  fi
  if pid=$(sshd_pid) && port=$(stored_port) && port_accepts "$port"; then
    echo "sshd: running (pid $pid) on 127.0.0.1:$port"
  else
    echo "sshd: NOT RUNNING"
    ok=1
  fi
  if pid=$(registry_pid) && [[ -s $REGISTRY_PORT_FILE ]] && port=$(<"$REGISTRY_PORT_FILE") &&
    registry_answers "$port"; then
    echo "registry: running (pid $pid) on 127.0.0.1:$port"
  else
    echo "registry: NOT RUNNING"
    ok=1
  fi
  if [[ -s $ENV_FILE && -s $SSH_CONFIG && -s $KNOWN_HOSTS ]]; then
    echo "client files: $SSH_CONFIG, $ENV_FILE"
  else
    echo "client files: MISSING (run up)"
    ok=1
  fi
  return "$ok"
}

cmd_status() {
  if check_status; then
    echo "test bed: UP"
  else
    echo "test bed: NOT (fully) UP"
    return 1
  fi
}

cmd_env() {
  local report
  if ! report=$(check_status); then
    printf '%s\n' "$report" >&2
    die "the test bed is not up; run: $0 up"
  fi
  cat "$ENV_FILE"
  [[ ! -s $REGISTRY_ENV ]] || cat "$REGISTRY_ENV"
}

# The plain root fs alone (no dockerd, no sshd): a clean Debian for other checks, such as
# installing jl's package into it.
cmd_rootfs() {
  need_root
  if [[ ! -s $CACHE/plain.tar ]]; then
    take_lock
    if [[ ! -s $CACHE/plain.tar ]]; then
      local p missing=()
      for p in debootstrap debian-archive-keyring; do
        pkg_installed "$p" || missing+=("$p")
      done
      if ((${#missing[@]} > 0)); then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >"$DIR/apt.log" 2>&1 || die "apt-get update failed, see $DIR/apt.log"
        apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$DIR/apt.log" 2>&1 ||
          die "apt-get install ${missing[*]} failed, see $DIR/apt.log"
      fi
      new_build_root
      debootstrap_plain "$BUILD_ROOT"
      tar_rootfs "$BUILD_ROOT" "$CACHE/plain.tar"
    fi
  fi
  printf '%s\n' "$CACHE/plain.tar"
}

usage() {
  sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0" >&2
}

main() {
  case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    rootfs) cmd_rootfs ;;
    -h | --help | help) usage ;;
    *)
      usage
      exit 2
      ;;
  esac
}

main "$@"
