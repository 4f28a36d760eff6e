#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Owns the interpreter test bed outside the checkout: Debian's CPython 3.13-3.15
# made to run on this host, free-threaded builds from Debian's sources, and the
# manifest interpreters.tsv that lists the ones that work.
#
# usage: tools/testbed.sh [--only debian-3.13,debian-3.14,debian-3.15,3.13t,3.14t,3.15t]
#   PYBPF_TESTBED=DIR          cache directory (default /var/cache/pybpf-testbed)
#   PYBPF_TESTBED_NO_BUILD=1   build nothing from source (built ones already there still count)
#   PYBPF_TESTBED_MIRROR=URI   Debian mirror (default: the one in /etc/apt/sources.list*)
#   PYBPF_TESTBED_RETRY=1      retry interpreters found missing or unbuildable within the last day
# Idempotent: an interpreter is set up once, then only smoke-tested; delete its
# folder to set it up again. The manifest lists every interpreter of the cache
# that passes the smoke test; --only limits what gets set up.
set -euo pipefail

CACHE=${PYBPF_TESTBED:-/var/cache/pybpf-testbed}
ALL_ITEMS="debian-3.13 debian-3.14 debian-3.15 3.13t 3.14t 3.15t"
APTD=$CACHE/apt
SYS_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
BUILD_DEPS="gcc make pkg-config dpkg-dev xz-utils libssl-dev zlib1g-dev libffi-dev libbz2-dev
            liblzma-dev libsqlite3-dev libreadline-dev uuid-dev libgdbm-dev libgdbm-compat-dev
            libncurses-dev libzstd-dev"

say() { echo "testbed: $*"; }
warn() { echo "testbed: $*" >&2; }
usage() { sed -n '7,14s/^# \{0,1\}//p' "$0" >&2; exit 2; }

only=$ALL_ITEMS
while (($#)); do
	case $1 in
	--only) [[ $# -ge 2 ]] || usage; only=${2//,/ }; shift 2 ;;
	--only=*) only=${1#--only=}; only=${only//,/ }; shift ;;
	-h|--help) usage ;;
	*) usage ;;
	esac
done
for it in $only; do [[ " $ALL_ITEMS " == *" $it "* ]] || { warn "unknown interpreter '$it'"; usage; }; done
selected() { [[ " $only " == *" $1 "* ]]; }

suite_of() { case $1 in 3.13) echo trixie ;; *) echo unstable ;; esac; }
ARCH=$(dpkg --print-architecture)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -dumpmachine)
mkdir -p "$CACHE"

# ---------------------------------------------------------------- private apt
# Never touches /etc/apt: own sources.list, state, lists and cache under $APTD.
detect_mirror() {
	if [[ -n ${PYBPF_TESTBED_MIRROR:-} ]]; then echo "${PYBPF_TESTBED_MIRROR%/}"; return; fi
	local f uris=()
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -r $f ]] || continue
		uris+=($(sed -E -n 's/^[[:space:]]*deb(-src)?[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\3/p' "$f"))
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r $f ]] || continue
		uris+=($(sed -E -n 's/^URIs:[[:space:]]*(.*)/\1/p' "$f"))
	done
	for f in "${uris[@]}"; do
		if [[ $f =~ ^(https?|ftp)://[^/]+(/.*)?/debian/?$ ]]; then echo "${f%/}"; return; fi
	done
	return 1
}

apt_opts=(
	-o "Dir::Etc::SourceList=$APTD/sources.list" -o "Dir::Etc::SourceParts=$APTD/empty"
	-o "Dir::Etc::Preferences=$APTD/empty/none" -o "Dir::Etc::PreferencesParts=$APTD/empty"
	-o "Dir::State=$APTD/state" -o "Dir::State::status=$APTD/state/status"
	-o "Dir::Cache=$APTD/cache" -o Dir::Cache::pkgcache=pkgcache.bin
	-o Dir::Cache::srcpkgcache=srcpkgcache.bin -o Debug::NoLocking=1
	-o APT::Sandbox::User=root -o Acquire::Languages=none -o Acquire::PDiffs=false -o quiet=1
)
apt_cache() { apt-cache "${apt_opts[@]}" "$@"; }
apt_get() { apt-get "${apt_opts[@]}" "$@"; }

write_sources() { # keyring-for-trixie keyring-for-unstable
	local s k t
	: >"$APTD/sources.list.new"
	for s in trixie unstable; do
		[[ $s == trixie ]] && k=$1 || k=$2
		for t in deb deb-src; do
			echo "$t [arch=$ARCH signed-by=$k] $MIRROR $s main" >>"$APTD/sources.list.new"
		done
	done
	mv "$APTD/sources.list.new" "$APTD/sources.list"
}
suite_ok() { # verified lists of the suite are there (apt keeps the last good ones)
	compgen -G "$APTD/state/lists/*_dists_$1_InRelease" >/dev/null &&
		apt_cache show "libc6/$1" >/dev/null 2>&1
}
sig_failed() { grep -E "(GPG error|NO_PUBKEY|EXPKEYSIG|not signed).* $1 " "$APTD/update.log" >/dev/null; }

# Per-run memory shared by the items' subshells: "RUN_ID state" in a file.
RUN_ID=$$.$(date +%s)
run_state() { local l; l=$(cat "$CACHE/.run-$1" 2>/dev/null) || return 1; [[ ${l%% *} == "$RUN_ID" ]] && echo "${l#* }"; }
set_run_state() { echo "$RUN_ID $2" >"$CACHE/.run-$1"; }

apt_ready() { # updates the private lists once per run; true when the suite is usable
	local suite=$1 log=$APTD/update.log
	if ! APT_STATE=$(run_state apt); then
		APT_STATE=ok
		if ! MIRROR=$(detect_mirror); then
			APT_STATE="no Debian mirror found in /etc/apt/sources.list*"
		else
			mkdir -p "$APTD/empty" "$APTD/state/lists/partial" "$APTD/cache/archives/partial"
			[[ -e $APTD/state/status ]] || : >"$APTD/state/status"
			write_sources "$SYS_KEYRING" "$SYS_KEYRING"
			apt_get update >"$log" 2>&1 || true
			if suite_ok trixie && { sig_failed unstable || ! suite_ok unstable; }; then
				# unstable signed by a key newer than this system's keyring:
				# take debian-archive-keyring from trixie, which this keyring verifies.
				local kd=$APTD/keyring
				rm -rf "$kd" && mkdir -p "$kd/x"
				if (cd "$kd" && apt_get download debian-archive-keyring/trixie) >>"$log" 2>&1 &&
					dpkg -x "$kd"/debian-archive-keyring_*.deb "$kd/x" &&
					[[ -s $kd/x/usr/share/keyrings/debian-archive-keyring.gpg ]]; then
					write_sources "$SYS_KEYRING" "$kd/x/usr/share/keyrings/debian-archive-keyring.gpg"
					apt_get update >>"$log" 2>&1 || true
				fi
			fi
		fi
		set_run_state apt "$APT_STATE"
	fi
	MIRROR=$(detect_mirror) || true
	[[ $APT_STATE == ok ]] || return 1
	suite_ok "$suite" || { APT_STATE_SUITE="apt lists for $suite could not be had from $MIRROR (see $log)"; return 1; }
}

# Runtime library packages a set of packages needs, recursively (lib*, zlib1g).
lib_closure() {
	local suite=$1; shift
	local -A seen=()
	local queue=("$@") d deps args
	while ((${#queue[@]})); do
		args=("${queue[@]/%//$suite}")
		queue=()
		deps=$(apt_cache show "${args[@]}" 2>/dev/null | awk '
			/^(Pre-)?Depends:/ {
				sub(/^[^:]*:/, ""); n = split($0, a, ",")
				for (i = 1; i <= n; i++) {
					split(a[i], b, "|"); x = b[1]
					gsub(/\(.*\)/, "", x); gsub(/[ \t]/, "", x); sub(/:any$/, "", x); print x
				}
			}' | sort -u) || true
		for d in $deps; do
			[[ $d =~ ^(lib[a-z0-9].*|zlib1g)$ && $d != libpython* ]] || continue
			[[ -z ${seen[$d]:-} ]] || continue
			seen[$d]=1
			queue+=("$d")
		done
	done
	printf '%s\n' "${!seen[@]}" | sort
}

# ----------------------------------------------------------------- checks
# Full check, once at setup: the modules the project's tests use, the stdlib
# found from the binary's own place, children through sys.executable.
FULL_CHECK='
import os, sys, subprocess
import ssl, sqlite3, ctypes, zlib, hashlib, lzma, bz2, decimal, readline, threading, multiprocessing, encodings
exe = os.path.realpath(sys.executable)
assert exe == os.path.realpath("/proc/self/exe"), (exe, os.readlink("/proc/self/exe"))
root = os.path.dirname(os.path.dirname(exe))
assert os.path.realpath(sys.prefix) == root, (sys.prefix, root)
assert encodings.__file__.startswith(sys.prefix), encodings.__file__
out = subprocess.run([sys.executable, "-c", "import sys; print(sys.version)"],
                     capture_output=True, text=True, check=True).stdout
assert out.strip() == sys.version, out
for m in ("spawn", "fork"):
    with multiprocessing.get_context(m).Pool(2) as p:
        assert p.map(abs, [-1, -2]) == [1, 2]
ctypes.CDLL(None).getpid()
import importlib.machinery
dyn = [p for p in sys.path if p.endswith("lib-dynload")][0]
assert dyn.startswith(sys.prefix), dyn
suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
skip = ("_tkinter", "_ctypes_test", "xxlimited", "xxlimited_35", "xxsubtype", "_xxtestfuzz")
bad = []
for f in sorted(os.listdir(dyn)):
    name = f[:-len(suffix)]
    if not f.endswith(suffix) or name in skip or name.startswith("_test"):
        continue
    try:
        __import__(name)
    except Exception as e:
        bad.append("%s(%s)" % (name, e))
if bad:
    print("lib-dynload modules that do not import: " + " ".join(bad))
print("full check ok:", sys.version.split()[0], sys.prefix)
'
# Smoke test, every run: prints "X.Y.Z gil" where gil is 1, 0 or - (no such call).
SMOKE='import sys, threading, zlib, hashlib; g = getattr(sys, "_is_gil_enabled", None); print("%d.%d.%d" % sys.version_info[:3], "-" if g is None else int(g()))'
smoke() { (cd / && timeout 60 "$1" -c "$SMOKE") 2>/dev/null; }

# ldd-style check of the binary and its extension modules against the unpacked loader.
lib_check() { # root loader libdirs
	local root=$1 ld=$2 dirs=$3 f out
	for f in "$root"/usr/bin/python3.[0-9]* "$root"/usr/lib/python3.*/lib-dynload/*.so; do
		[[ -f $f && ! -L $f && $f != *d && $f != *d-$MA.so ]] || continue
		out=$("$ld" --library-path "$dirs" --list "$f" 2>&1 || true)
		grep -E 'not found|=> /' <<<"$out" | grep -vF "=> $root/" | sed "s|^|$(basename "$f"): |" || true
	done
}

# ----------------------------------------------------------------- Debian binaries
# $CACHE/debian-X.Y/root holds python3.X-minimal, libpython3.X-minimal,
# libpython3.X-stdlib, python3.X-dbg (detached DWARF of the normal build under
# usr/lib/debug/.build-id, and the pydebug python3.Xd), libpython3.X-dev (headers,
# internal ones too) and the suite's runtime libraries, libc6 among them. The
# binary gets the unpacked ld.so as its interpreter and a DT_RPATH to the
# unpacked library folders, so it runs as itself: /proc/PID/exe, sys.executable
# and sys.prefix ($ROOT/usr, found by CPython's getpath beside the binary) are its own.
setup_debian() { # X.Y dir
	local v=$1 d=$2 suite; suite=$(suite_of "$v")
	local root=$d/root new=$d/root.new debs=$d/debs
	STEP="apt lists for $suite"
	apt_ready "$suite" || fail "${APT_STATE_SUITE:-$APT_STATE}"
	local main=("python$v-minimal" "libpython$v-minimal" "libpython$v-stdlib")
	apt_cache show "python$v-minimal/$suite" >/dev/null 2>&1 || fail_for_a_day "python$v-minimal not in $suite"
	STEP="resolving packages"
	local libs; libs=$(lib_closure "$suite" "${main[@]}" libc6)
	local pkgs; pkgs=($(printf '%s\n' "${main[@]}" "python$v-dbg" "libpython$v-dev" libc6 $libs | sort -u))
	echo "packages: ${pkgs[*]}"
	STEP="apt-get download"
	rm -rf "$debs" && mkdir -p "$debs"
	(cd "$debs" && apt_get download "${pkgs[@]/%//$suite}") || fail "apt-get download from $suite failed (see $LOG)"
	STEP="unpacking"
	rm -rf "$new" && mkdir -p "$new"
	local f t
	for f in "$debs"/*.deb; do dpkg -x "$f" "$new"; done
	# absolute symlinks would point into the host: point them inside the root
	while IFS= read -r f; do
		t=$(readlink "$f")
		if [[ $t == /* && -e $new$t ]]; then ln -sfn "$root$t" "$f"; fi
	done < <(find "$new" -type l)
	local bin=$new/usr/bin/python$v
	[[ -x $bin ]] || fail "python$v-minimal has no usr/bin/python$v"
	local ld; ld=$(find "$new/usr/lib/$MA" "$new/lib/$MA" "$new/usr/lib64" "$new/lib64" -maxdepth 1 \
		-type f -name 'ld-linux*.so*' 2>/dev/null | head -n1 || true)
	[[ -n $ld ]] || fail "no ld.so in $suite's libc6"
	local rpath="" dirs="" sub
	for sub in usr/lib/$MA lib/$MA; do
		[[ -d $new/$sub ]] || continue
		rpath+="${rpath:+:}\$ORIGIN/../../$sub"
		dirs+="${dirs:+:}$root/$sub"
	done
	STEP="patchelf"
	host_pkgs_ready patchelf patchelf || fail "$HOST_STATE"
	patchelf --set-interpreter "$root${ld#"$new"}" --force-rpath --set-rpath "$rpath" "$bin"
	STEP="moving into place"
	rm -rf "$root" && mv "$new" "$root"
	rm -rf "$debs"
	bin=$root/usr/bin/python$v
	STEP="library check"
	local missing; missing=$(lib_check "$root" "$root${ld#"$new"}" "$dirs")
	[[ -z $missing ]] || { echo "libraries outside the root or not found:"; echo "$missing"; }
	STEP="full check"
	(cd / && timeout 300 "$bin" -c "$FULL_CHECK") || fail_for_a_day "python$v fails the full check (see $LOG)"
	if command -v gdb >/dev/null; then
		if gdb -batch -iex "set debug-file-directory $root/usr/lib/debug" \
			-ex 'ptype/o struct _Py_DebugOffsets' "$bin" 2>/dev/null | grep -q 'uint64_t version'; then
			echo "DWARF: gdb -iex 'set debug-file-directory $root/usr/lib/debug' $bin"
		else
			echo "DWARF: _Py_DebugOffsets not found through $root/usr/lib/debug"
		fi
	fi
	echo "$bin" >"$d/.ready"
}

# ----------------------------------------------------------------- free-threaded builds
host_pkgs_ready() { # key package...: installs the missing ones with the system's apt, once per run
	local key=$1 p missing=""; shift
	if ! HOST_STATE=$(run_state "$key"); then
		HOST_STATE=ok
		for p in "$@"; do
			dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=" $p"
		done
		if [[ -n $missing ]]; then
			echo "installing:$missing"
			if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; }; then
				HOST_STATE="could not install$missing with apt-get"
			fi
		fi
		set_run_state "$key" "$HOST_STATE"
	fi
	[[ $HOST_STATE == ok ]]
}

# $CACHE/build-X.Yt: src/ (upstream source of Debian's python3.X source package,
# Debian's patches not applied), install/ (--prefix, --disable-gil, -g -O3, no PGO/LTO).
setup_build() { # X.Y dir
	local v=$1 d=$2 suite; suite=$(suite_of "$v")
	local src=$d/src inst=$d/install pkg=$d/srcpkg
	STEP="build dependencies"
	host_pkgs_ready build-deps $BUILD_DEPS || fail "$HOST_STATE"
	STEP="apt lists for $suite"
	apt_ready "$suite" || fail "${APT_STATE_SUITE:-$APT_STATE}"
	STEP="apt-get source"
	rm -rf "$pkg" "$src" "$inst" && mkdir -p "$pkg"
	# the suite's version first, then any other version the lists name
	local want ok=""
	for want in "python$v/$suite" $(apt_cache showsrc "python$v" 2>/dev/null |
		sed -n "s/^Version: /python$v=/p" | sort -urV); do
		rm -f "$pkg"/*
		if (cd "$pkg" && apt_get source --download-only "$want"); then ok=$want; break; fi
	done
	if [[ -z $ok ]]; then
		grep -q ' 404 ' "$LOG" && fail_for_a_day "source package python$v not on $MIRROR (404)"
		fail "apt-get source python$v failed (see $LOG)"
	fi
	echo "source: $ok"
	STEP="dpkg-source -x"
	dpkg-source --skip-patches -x "$pkg"/python"$v"_*.dsc "$src"
	rm -rf "$pkg" "$d"/python"$v"_*.orig.tar.*  # dpkg-source copies the tarball beside src
	STEP="configure"
	(cd "$src" && ./configure --prefix="$inst" --disable-gil --without-ensurepip) ||
		fail_for_a_day "configure failed (see $LOG)"
	STEP="make"
	local t0=$SECONDS
	make -C "$src" -j"$(($(nproc) + 1))" || fail_for_a_day "make failed (see $LOG)"
	make -C "$src" altinstall || fail_for_a_day "make altinstall failed (see $LOG)"
	echo "build time: $((SECONDS - t0))s"
	local bin=$inst/bin/python${v}t
	[[ -x $bin ]] || fail_for_a_day "no $bin after make altinstall"
	STEP="full check"
	(cd / && timeout 300 "$bin" -c "$FULL_CHECK") || fail_for_a_day "python${v}t fails the full check (see $LOG)"
	make -C "$src" clean >/dev/null  # objects go; the sources stay for gdb's listings
	echo "$bin" >"$d/.ready"
}

# ----------------------------------------------------------------- driver
fail() { echo "$*" >"$REASON"; echo "FAILED: $*"; exit 1; }
# A failure that another try today would repeat (not there, does not build):
# remembered for a day so that `make deps` stays fast; network trouble is not.
fail_for_a_day() { : >"$REASON.sticky"; fail "$@"; }

item_dir() { case $1 in debian-*) echo "$CACHE/$1" ;; *) echo "$CACHE/build-$1" ;; esac; }

manifest=$CACHE/interpreters.tsv.new
: >"$manifest"
nready=0
for it in $ALL_ITEMS; do
	d=$(item_dir "$it")
	v=${it#debian-}; v=${v%t}
	bin=""; how=""
	if [[ -s $d/.ready ]]; then
		bin=$(<"$d/.ready")
		if out=$(smoke "$bin"); then how=cached; else bin=""; rm -f "$d/.ready"; fi
	fi
	if [[ -z $how ]]; then
		selected "$it" || continue
		if [[ -s $d/.failed && ${PYBPF_TESTBED_RETRY:-0} != 1 ]] && [[ -n $(find "$d/.failed" -mmin -1440) ]]; then
			warn "$it missing: $(<"$d/.failed") (failed within a day; PYBPF_TESTBED_RETRY=1 retries)"
			continue
		fi
		if [[ $it != debian-* && ${PYBPF_TESTBED_NO_BUILD:-0} == 1 ]]; then
			warn "$it missing: not built (PYBPF_TESTBED_NO_BUILD=1)"
			continue
		fi
		mkdir -p "$d"
		LOG=$d/setup.log REASON=$d/.reason
		rm -f "$REASON" "$REASON.sticky" "$d/.failed"
		t0=$SECONDS
		set +e
		(
			set -eE
			STEP=setup
			trap 'echo "$STEP failed: $BASH_COMMAND (see $LOG)" >"$REASON"' ERR
			if [[ $it == debian-* ]]; then setup_debian "$v" "$d"; else setup_build "$v" "$d"; fi
		) >"$LOG" 2>&1
		rc=$?
		set -e
		if ((rc != 0)) || [[ ! -s $d/.ready ]]; then
			rm -f "$d/.ready"
			[[ -s $REASON ]] || echo "setup failed (see $LOG)" >"$REASON"
			warn "$it missing: $(<"$REASON")"
			if [[ -e $REASON.sticky ]]; then mv "$REASON" "$d/.failed"; fi
			rm -f "$REASON" "$REASON.sticky"
			continue
		fi
		bin=$(<"$d/.ready")
		if ! out=$(smoke "$bin"); then
			rm -f "$d/.ready"
			warn "$it missing: $bin fails the smoke test"
			continue
		fi
		[[ $it == debian-* ]] && how="installed in $((SECONDS - t0))s" || how="built in $((SECONDS - t0))s"
	fi
	read -r ver gil <<<"$out"
	if [[ $it == debian-* ]]; then
		label=debian-$ver kind=debian-static
		readelf -d "$bin" 2>/dev/null | grep -q 'NEEDED.*libpython' && kind=debian-shared
	else
		if [[ $gil != 0 ]]; then
			rm -f "$d/.ready"
			warn "$it missing: $bin runs with the GIL enabled"
			continue
		fi
		label=${ver}t kind=free-threaded
	fi
	printf '%s\t%s\t%s\t%s\n' "$label" "$bin" "$ver" "$kind" >>"$manifest"
	nready=$((nready + 1))
	say "$label ready ($how)"
done
mv "$manifest" "$CACHE/interpreters.tsv"
rm -f "$CACHE"/.run-*
if ((nready == 0)); then
	warn "no interpreter could be set up in $CACHE"
	exit 1
fi
