#!/bin/bash
#
# scipipe-tools' eupspkg: the verbs EUPS's eupspkg runs (prep, config, build, install,
# decl) and the default implementations, helper functions and variables an
# ups/eupspkg.cfg.sh file relies on, written for scipipe from the behaviour of
# EUPS 2.2.15's lib/eupspkg.sh (described, then reimplemented; not a copy).
#
#   bash eupspkg.sh [-k] [-v LEVEL] [NAME=VALUE ...] VERB [ARGS ...]
#
# run from the root of a product's source tree, as `eupspkg` is.  As there:
#
# - the variables below are cleared from the environment (unless -k), then taken from
#   the NAME=VALUE arguments, then given their defaults; ./ups/eupspkg.cfg.sh (and any
#   script on EUPSPKG_SCRIPTS) is sourced last, so it may change any variable and
#   redefine any verb or default_* function;
# - the default build system is chosen by the files present: SConstruct, configure,
#   Makefile (or makefile, GNUmakefile), setup.py; anything else is copied as it is.
#
# What differs (see the README): ./ups/pkginfo is not sourced (scipipe reads it as data
# and passes what it needs); install_ups copies ups/ and leaves the table to scipipe,
# which expands it against the exact versions built with (what `eups expandtable`
# does); the copy of a product without a build system leaves out .git; the verb
# `scipipe_check` runs a check() function the cfg defines (scipipe's unit-test hook),
# and SCIPIPE_SCONSFLAGS_EXTRA is appended to SCONSFLAGS (scipipe's --no-tests).

set -e

# ---------------------------------------------------------------- messages --------
# Descriptor 3 carries messages (stderr unless the caller opened it), descriptor 4 the
# EUPS console (nowhere unless the caller opened it).
{ true >&3; } 2>/dev/null || exec 3>&2
{ true >&4; } 2>/dev/null || exec 4>/dev/null

VERBOSE=${EUPSPKG_VERBOSE:-0}

_eupspkg_say()
{
	# usage: _eupspkg_say MIN_LEVEL SUFFIX WORDS...; names the function that called
	# die/warn/msg/... (or $_FUNCNAME, which the verb wrappers set)
	local min=$1 suffix=$2
	shift 2
	if [[ $VERBOSE -ge $min ]]; then
		echo "eupspkg.${_FUNCNAME:-${FUNCNAME[2]}}${suffix}: $*" >&3
	fi
	return 0
}

die()   { _eupspkg_say -3 " (fatal)" "$@"; exit 255; }
error() { _eupspkg_say -2 " (error)" "$@"; }
warn()  { _eupspkg_say -1 " (warning)" "$@"; }
msg()   { _eupspkg_say 0 "" "$@"; }
info()  { _eupspkg_say 1 " (info)" "$@"; }
debug() { _eupspkg_say 2 " (debug)" "$@"; }

die_if_empty()
{
	# usage: die_if_empty VARNAME
	[[ -n "${!1}" ]] || die "$1 is not set. refusing to proceed."
}

eups_console()
{
	# Each line of stdin to the EUPS console (descriptor 4) and as a message.
	local line _FUNCNAME="${FUNCNAME[1]}"
	while IFS= read -r line; do
		printf '%s\n' "$line" >&4
		msg "$line"
	done
}

dumpvar()
{
	# usage: dumpvar COMMAND VARNAME...: COMMAND "NAME='value'" for each
	local how=$1 name
	shift
	for name in "$@"; do
		"$how" "$name='${!name}'"
	done
}

append_pkginfo()
{
	# usage: append_pkginfo NAME [VALUE]: NAME='VALUE' (default: $NAME) to $PKGINFO
	die_if_empty PKGINFO
	local value
	if [[ $# -ge 2 ]]; then value=$2; else value=${!1}; fi
	echo "$1='$value'" >> "$PKGINFO"
	info "appended $1='$value' to pkginfo."
}

# ---------------------------------------------------------------- helpers ---------

detect_compiler()
{
	# Sets C_COMP_TYPE, CXX_COMP_TYPE and COMPILER_TYPE (clang, icc, gcc, msvc, pgcc or
	# unknown) from what $CC and $CXX compile, dying when the two differ, and
	# CXX_CXX11_FLAG/CXX_CXX14_FLAG to the newest -std= the C++ compiler accepts.
	local tmp
	tmp=$(mktemp -d -t eupspkg-compiler.XXXXXX)
	cat > "$tmp/probe.c" <<'PROBE'
#include <stdio.h>
int main(void)
{
#if defined(__clang__)
	puts("clang");
#elif defined(__INTEL_COMPILER) || defined(__ICC)
	puts("icc");
#elif defined(__GNUC__) || defined(__GNUG__)
	puts("gcc");
#elif defined(_MSC_VER)
	puts("msvc");
#elif defined(__PGI)
	puts("pgcc");
#else
	puts("unknown");
#endif
	return 0;
}
PROBE
	cp "$tmp/probe.c" "$tmp/probe.cxx"
	local cc="${CC:-cc}" cxx="${CXX:-c++}"
	"$cc" "$tmp/probe.c" -o "$tmp/c.out"
	"$cxx" "$tmp/probe.cxx" -o "$tmp/cxx.out"
	C_COMP_TYPE=$("$tmp/c.out")
	CXX_COMP_TYPE=$("$tmp/cxx.out")
	if [[ "$C_COMP_TYPE" != "$CXX_COMP_TYPE" ]]; then
		rm -rf "$tmp"
		die "C and C++ compiler versions differ ($cc is of type '$C_COMP_TYPE' while $cxx is of type '$CXX_COMP_TYPE')"
	fi
	COMPILER_TYPE=$CXX_COMP_TYPE

	CXX_CXX11_FLAG=
	CXX_CXX14_FLAG=
	local std
	for std in c++14 c++11 c++0x; do
		if "$cxx" "$tmp/probe.cxx" -std=$std -o "$tmp/std.out" 2>/dev/null; then
			CXX_CXX14_FLAG=-std=$std
			if [[ $std == c++14 ]]; then CXX_CXX11_FLAG=-std=c++11; else CXX_CXX11_FLAG=-std=$std; fi
			break
		fi
	done
	rm -rf "$tmp"
}

eups_version()
{
	# The version of the eups command on PATH (stdout).
	local out
	out=$(eups --version)
	echo "${out#EUPS Version: }"
}

require_eups_version()
{
	# usage: require_eups_version MIN [MESSAGE]: dies when eups is older than MIN
	# (warns instead when NOVERCHECK=1).  Versions compare field by field, as numbers.
	local have want i
	have=$(eups_version)
	IFS=. read -ra _have <<< "$have"
	IFS=. read -ra _want <<< "$1"
	for ((i = 0; i < ${#_have[@]} || i < ${#_want[@]}; i++)); do
		local a=$((10#0${_have[i]//[^0-9]/})) b=$((10#0${_want[i]//[^0-9]/}))
		if ((a > b)); then return 0; fi
		if ((a < b)); then
			local message=${2-"EUPS v$have too old for this package; v$1 or later required."}
			if [[ $NOVERCHECK == 1 ]]; then warn "$message"; return 0; fi
			die "$message"
		fi
	done
	return 0
}

autoproduct()
{
	# PRODUCT from the name of the git remote 'origin'.
	command -v git >/dev/null 2>&1 || die "could not execute 'git' to automatically deduce PRODUCT and VERSION."
	local url
	url=$(git config --get remote.origin.url || true)
	[[ -n "$url" ]] || die "No git remote named 'origin', or git error. Please specify PRODUCT."
	url=${url%/}
	url=${url##*/}
	PRODUCT=${url%.git}
	info "guessed PRODUCT='$PRODUCT'"
}

autoversion()
{
	# VERSION from pkgautoversion (EUPS's), with VERSION_PREFIX/VERSION_SUFFIX.
	VERSION="$VERSION_PREFIX$(pkgautoversion "$@")$VERSION_SUFFIX"
	info "guessed VERSION='$VERSION'"
}

install_ups()
{
	# ./ups/* into $PREFIX/ups.  eupspkg then expands $PREFIX/ups/$PRODUCT.table with
	# `eups expandtable`; scipipe expands it itself once the install verb is done,
	# against the exact versions the product was built with.
	[[ -d ups ]] || die "no 'ups' directory to copy to destination (are you running from package root?)"
	mkdir -p "$PREFIX/ups"
	cp -f -a ./ups/* "$PREFIX/ups"
	if [[ -f "$PREFIX/ups/$PRODUCT.table" ]]; then
		info "table file '$PREFIX/ups/$PRODUCT.table' installed (scipipe expands it)"
	else
		msg "no table file to expand (looked for '$PREFIX/ups/$PRODUCT.table')".
	fi
}

clean_old_install()
{
	# Remove $PREFIX, but only when it is a directory strictly below $PRODUCTS_ROOT.
	[[ -e "$PREFIX" ]] || return 0
	local root=$PRODUCTS_ROOT here
	here=$(cd "$PREFIX" && pwd)
	if [[ "$here" != "$root" && "$here" == "$root"* ]]; then
		msg "deleting existing install in '$here'"
		rm -rf "$here"
	else
		msg "odd install directory '$PREFIX' (not a proper subdir of eups install root). not deleting it out of abundance of caution."
	fi
}

resolve_repository()
{
	# REPOSITORY: the first pattern of the '|'-separated REPOSITORY_PATH (each evaluated
	# as a bash string, e.g. 'git://host/$PRODUCT.git') that git can reach, else the
	# preset REPOSITORY, else die.
	local pattern candidate
	IFS='|' read -ra _patterns <<< "$REPOSITORY_PATH"
	for pattern in "${_patterns[@]}"; do
		eval "candidate=\"$pattern\""
		info "trying $candidate"
		if git ls-remote "$candidate" HEAD >/dev/null 2>&1; then
			REPOSITORY=$candidate
			info "repository resolved to $REPOSITORY."
			return 0
		fi
	done
	[[ -n "$REPOSITORY" ]] || die "failed to resolve repository for $PRODUCT-$VERSION using REPOSITORY_PATH='$REPOSITORY_PATH'. Check the path or accessibility of your git repositories."
	info "using predefined REPOSITORY='$REPOSITORY'"
}

resolve_repoversion()
{
	# REPOVERSION: kept when set, else $SHA1, else VERSION without its +suffix,
	# VERSION_PREFIX and VERSION_SUFFIX, with every _ turned into -.
	[[ -n "$REPOVERSION" ]] && return 0
	if [[ -n "$SHA1" ]]; then REPOVERSION=$SHA1; return 0; fi
	local v=${VERSION%%+*}
	v=${v#"$VERSION_PREFIX"}
	v=${v%"$VERSION_SUFFIX"}
	REPOVERSION=${v//_/-}
}

contains()
{
	# usage: contains NEEDLE WORD...: success when a WORD (a glob pattern) matches
	local needle=$1 word
	shift
	for word in "$@"; do
		# shellcheck disable=SC2053
		[[ $needle == $word ]] && return 0
	done
	return 250
}

copy_function()
{
	# usage: copy_function OLD NEW: NEW becomes a function with OLD's body
	local body
	body=$(declare -f "$1") || return 1
	eval "$2${body#"$1"}"
}

fix_autoconf_timestamps()
{
	# git checkouts carry no timestamps, so make would rerun autoconf: touch the
	# generated files after their inputs (not in tarball-and-patch packages).
	if [[ -f "$UPSTREAM_DIR/prepared" ]]; then
		info "running from TaP package; not touching autoconf timestamps."
		return 0
	fi
	find . -name aclocal.m4 -exec touch {} +
	sleep 1
	find . \( -name configure -o -name config.h.in -o -name Makefile.in -o -name '*.info' \) -exec touch {} +
}

evil_setuptools_pth_fix()
{
	# setuptools' .pth files may put their own paths ahead of PYTHONPATH: drop their
	# import lines (sed leaves each original beside it, as FILE~).
	local pth
	while IFS= read -r pth; do
		sed -i~ '/^import.*/d' "$pth"
	done < <(find "$PREFIX" -name "*.pth")
}

decl()
{
	# usage: decl [eups declare arguments]; scipipe declares products itself and does
	# not run this verb.
	die_if_empty PRODUCT
	die_if_empty VERSION
	die_if_empty PREFIX
	[[ -d "$PREFIX/ups" ]] || die "directory $PREFIX/ups doesn't exist or is not a directory. did you forget to run 'eupspkg install'?"
	eups declare "$PRODUCT" "$VERSION" -r "$PREFIX" "$@"
	msg "declared $PRODUCT $VERSION in $PREFIX (eups declare options: ${*:-none})"
}

# ---------------------------------------------------------------- default verbs ---

_eupspkg_enter_build_dir()
{
	# TAP_USE_BUILD_DIR=1: the verbs work in $BUILD_DIR; sets _reldir, the way back
	_reldir=.
	if [[ "$TAP_USE_BUILD_DIR" == 1 ]]; then
		_reldir=..
		cd "$BUILD_DIR"
	fi
}

default_create()
{
	die "scipipe makes eupspkg packages itself (scipipe publish); 'create' is not run here."
}

default_fetch()
{
	# The sources are in the package (SOURCE=package); scipipe fetches git sources
	# itself before running the other verbs.
	case "$SOURCE" in
		package) ;;
		git|git-archive) msg "sources already fetched by scipipe (SOURCE=$SOURCE)." ;;
		*) die "unknown source '$SOURCE'. Malformed archive?" ;;
	esac
}

default_prep()
{
	# Tarball-and-patch (TaP) packages: a directory $UPSTREAM_DIR (upstream/) of
	# tarballs unpacked into the product root (or $BUILD_DIR with TAP_USE_BUILD_DIR=1),
	# then $PATCHES_DIR/*.patch applied in name order with patch -p1.  Recognised only
	# when the root holds no plain files but dot- and underscore-files (TAP_PACKAGE=1
	# or a .tap_package file skip that check).  Done once: $UPSTREAM_DIR/prepared.
	[[ -d "$UPSTREAM_DIR" ]] || return 0
	if [[ -f "$UPSTREAM_DIR/prepared" ]]; then
		msg "package already prepared (found '$UPSTREAM_DIR/prepared' flag file)."
		return 0
	fi
	if [[ "$TAP_PACKAGE" != 1 && ! -f .tap_package ]]; then
		local stray
		stray=$(find . -mindepth 1 -maxdepth 1 -type f ! -name '.*' ! -name '_*' | head -n 1)
		[[ -z "$stray" ]] || die "files found in root directory; guessing this is not a TaP package."
	fi

	local back=.
	if [[ "$TAP_USE_BUILD_DIR" == 1 ]]; then
		back=..
		mkdir "$BUILD_DIR"
		cd "$BUILD_DIR"
	fi

	local tarball
	for tarball in "$back/$UPSTREAM_DIR"/*; do
		[[ -d "$tarball" ]] && continue
		msg "unpacking $tarball ..."
		case "$tarball" in
			# TAP_TAR_OPTIONS is split into words on purpose
			*.tar.gz|*.tgz)  tar xzf "$tarball" --strip-components 1 $TAP_TAR_OPTIONS ;;
			*.tar.bz2|*.tbz) tar xjf "$tarball" --strip-components 1 $TAP_TAR_OPTIONS ;;
			*) die "unrecognized archive format for '$tarball'." ;;
		esac
	done

	if [[ -d "$back/$PATCHES_DIR" ]]; then
		local patchfile
		while IFS= read -r patchfile; do
			msg "applying $patchfile ..."
			patch -s -p1 < "$patchfile"
		done < <(find "$back/$PATCHES_DIR" -mindepth 1 -maxdepth 1 -name '*.patch' ! -type d | sort)
	fi

	cd "$back"
	touch "$UPSTREAM_DIR/prepared"
}

default_config()
{
	# ./configure $CONFIGURE_OPTIONS (evaluated, so quotes in it work) when there is a
	# configure script; autoconf timestamps fixed first outside TaP packages.
	_eupspkg_enter_build_dir
	if [[ -f configure ]]; then
		[[ -d "$_reldir/$UPSTREAM_DIR" ]] || fix_autoconf_timestamps
		eval ./configure $CONFIGURE_OPTIONS
	fi
	cd "$_reldir"
}

default_build()
{
	die_if_empty PRODUCT
	die_if_empty VERSION
	_eupspkg_enter_build_dir
	if [[ -f SConstruct ]]; then
		scons -j$NJOBS prefix="$PREFIX" version="$VERSION" cc="$CC"
	elif [[ -f configure ]]; then
		make -j$NJOBS $MAKE_BUILD_TARGETS
	elif [[ -f Makefile || -f makefile || -f GNUmakefile ]]; then
		make -j$NJOBS prefix="$PREFIX" version="$VERSION" $MAKE_BUILD_TARGETS
	elif [[ -f setup.py ]]; then
		python setup.py build
	else
		msg "no build system detected; assuming no build needed."
	fi
	cd "$_reldir"
}

default_install()
{
	die_if_empty PRODUCT
	die_if_empty VERSION
	clean_old_install
	_eupspkg_enter_build_dir
	if [[ -f SConstruct ]]; then
		scons -j$NJOBS prefix="$PREFIX" version="$VERSION" cc="$CC" install
	elif [[ -f configure ]]; then
		make -j$NJOBS $MAKE_INSTALL_TARGETS
	elif [[ -f Makefile || -f makefile || -f GNUmakefile ]]; then
		make -j$NJOBS prefix="$PREFIX" version="$VERSION" $MAKE_INSTALL_TARGETS
	elif [[ -f setup.py ]]; then
		# into $PREFIX/lib/python (--home), dependencies not installed
		# (--single-version-externally-managed); plain distutils packages reject those
		# options and get a plain install instead
		local pydest="$PREFIX/lib/python"
		mkdir -p "$pydest"
		if ! PYTHONPATH="$pydest:$PYTHONPATH" eval python setup.py install \
			--single-version-externally-managed --record record.txt $PYSETUP_INSTALL_OPTIONS; then
			PYTHONPATH="$pydest:$PYTHONPATH" eval python setup.py install $PYSETUP_INSTALL_OPTIONS
		fi
		evil_setuptools_pth_fix "$pydest"
	else
		# no build system: the tree as it is, ups/ aside (install_ups below); scipipe
		# leaves out the checkout's .git
		mkdir -p "$PREFIX"
		find . -mindepth 1 -maxdepth 1 ! -name .git ! -name ups -exec cp -a {} "$PREFIX" \;
		msg "Copied the product into '$PREFIX'"
	fi
	cd "$_reldir"

	# ups/ unless the build system installed it (a second copy would be expanded twice)
	if [[ -d ups && ! -d "$PREFIX/ups" ]]; then
		install_ups
	fi
}

scipipe_check()
{
	# scipipe's unit-test hook: the check() function of ups/eupspkg.cfg.sh, if any
	if declare -F check >/dev/null; then
		check "$@"
	else
		msg "no check() function in ups/eupspkg.cfg.sh; nothing to run."
	fi
}

# The verbs: each calls its default implementation unless the cfg redefines it.
create()  { _FUNCNAME=create  default_create "$@"; }
fetch()   { _FUNCNAME=fetch   default_fetch "$@"; }
prep()    { _FUNCNAME=prep    default_prep "$@"; }
config()  { _FUNCNAME=config  default_config "$@"; }
build()   { _FUNCNAME=build   default_build "$@"; }
install() { _FUNCNAME=install default_install "$@"; }
usage()
{
	cat <<'USAGE'
usage: eupspkg.sh [-k] [-v LEVEL] [NAME=VALUE ...] VERB [ARGS ...]

  VERB: prep, config, build, install, decl (and fetch for SOURCE=package)
  -v LEVEL: verbosity, -3 (fatal errors only) to 3 (bash tracing); default 0
  -k: keep the variables eupspkg would otherwise clear from the environment
USAGE
}

# ---------------------------------------------------------------- start -----------

if [[ -f ./ups/eupspkg.cfg.sh ]]; then
	export EUPSPKG_SCRIPTS="$EUPSPKG_SCRIPTS:$PWD/ups/eupspkg.cfg.sh"
fi

_keep_env=0
while getopts ":v:hedrk" _opt; do
	case $_opt in
		v) VERBOSE=$OPTARG ;;
		k) _keep_env=1 ;;
		h) usage; exit 0 ;;
		e|d|r) die "developer mode (-$_opt) is not supported by scipipe's eupspkg." ;;
		\?) die "Invalid option: -$OPTARG" ;;
		:) die "Option -$OPTARG requires an argument." ;;
	esac
done
shift $((OPTIND - 1))

# Variables that must not leak in from the environment (their defaults are below).
if [[ $_keep_env != 1 ]]; then
	for _var in FLAVOR PRODUCT VERSION PREFIX SOURCE INCLUDES CONFIGURE_OPTIONS \
		MAKE_BUILD_TARGETS MAKE_INSTALL_TARGETS PYSETUP_INSTALL_OPTIONS \
		VERSION_PREFIX VERSION_SUFFIX PATCHES_DIR UPSTREAM_DIR BUILD_DIR PRODUCTS_ROOT \
		REPOSITORY REPOSITORY_PATH SHA1 REPOVERSION; do
		unset "$_var"
	done
fi

# NAME=VALUE arguments, taken literally
while [[ $# -gt 0 && $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
	printf -v "${1%%=*}" '%s' "${1#*=}"
	shift
done

[[ $VERBOSE -ge 3 ]] && set -x

if [[ $# -lt 1 ]]; then
	error "insufficient number of arguments."
	usage >&3
	exit 255
fi

if [[ -z "$PRODUCT" || -z "$VERSION" || -z "$FLAVOR" ]]; then
	die "PRODUCT, VERSION, or FLAVOR were not defined. refusing to proceed."
fi

# Defaults
SCRIPTS=${SCRIPTS:-"$EUPSPKG_SCRIPTS"}
if [[ -n "$EUPSPKG_NJOBS" ]]; then
	NJOBS=$EUPSPKG_NJOBS
else
	NJOBS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
	[[ $NJOBS -gt 32 ]] && NJOBS=32
fi
BUILD_DIR=${EUPSPKG_BUILD_DIR:-_build}
UPSTREAM_DIR=${UPSTREAM_DIR:-upstream}
PATCHES_DIR=${PATCHES_DIR:-patches}
EUPSPKG_SOURCE=${EUPSPKG_SOURCE:-package}
SOURCE=${SOURCE:-$EUPSPKG_SOURCE}
VERSION_PREFIX=${VERSION_PREFIX:-$EUPSPKG_VERSION_PREFIX}
VERSION_SUFFIX=${VERSION_SUFFIX:-$EUPSPKG_VERSION_SUFFIX}
REPOSITORY_PATH=${REPOSITORY_PATH:-"$EUPSPKG_REPOSITORY_PATH"}
REPOSITORY=${REPOSITORY:-}
MAKE_BUILD_TARGETS=${MAKE_BUILD_TARGETS:-}
MAKE_INSTALL_TARGETS=${MAKE_INSTALL_TARGETS:-install}
if [[ -z "$PRODUCTS_ROOT" ]]; then
	# the first writable stack of EUPS_PATH, as eupspkg finds it (scipipe passes it)
	command -v eups >/dev/null 2>&1 || die "PRODUCTS_ROOT is not set and there is no eups command to find it."
	for _stack in $(eups path); do
		_candidate="$_stack/$(eups flavor)"
		if mkdir -p "$_candidate" 2>/dev/null && [[ -w "$_candidate" ]]; then
			PRODUCTS_ROOT=$_candidate
			break
		fi
	done
	PRODUCTS_ROOT=${PRODUCTS_ROOT:-"$(eups path 0)/$(eups flavor)"}
fi
PREFIX=${PREFIX:-"$PRODUCTS_ROOT/$PRODUCT/$VERSION"}
CONFIGURE_OPTIONS=${CONFIGURE_OPTIONS:-"--prefix \"$PREFIX\""}
# --prefix= clears a prefix a distutils.cfg may set (--home and --prefix exclude each other)
PYSETUP_INSTALL_OPTIONS=${PYSETUP_INSTALL_OPTIONS:-"--home \"$PREFIX\" --prefix="}
export CC=${CC:-cc}
export CXX=${CXX:-c++}
export SCONSFLAGS=${EUPSPKG_SCONSFLAGS:-"opt=3"}

# Many parallel jobs can hit the process limit: raise the soft limit to the hard one.
if ulimit -Su hard >/dev/null 2>&1; then
	info "maxproc limit (ulimit -Su) set to $(ulimit -Su)."
else
	warn "failed to raise the maxproc limit (ulimit -Su); continuing with $(ulimit -Su)."
fi

# The configuration scripts, ./ups/eupspkg.cfg.sh last
IFS=':' read -ra _scripts <<< "$SCRIPTS"
for _script in "${_scripts[@]}"; do
	[[ -z "$_script" ]] && continue
	[[ -f "$_script" ]] || die "script '$_script' listed on the SCRIPTS path does not exist."
	info "sourcing '$_script'."
	# shellcheck disable=SC1090
	. "$_script"
done

if [[ -n "$SCIPIPE_SCONSFLAGS_EXTRA" ]]; then
	export SCONSFLAGS="$SCONSFLAGS $SCIPIPE_SCONSFLAGS_EXTRA"
fi

dumpvar debug PWD VERBOSE PRODUCT VERSION FLAVOR NJOBS UPSTREAM_DIR PATCHES_DIR SOURCE \
	REPOSITORY REPOSITORY_PATH MAKE_BUILD_TARGETS MAKE_INSTALL_TARGETS BUILD_DIR \
	PRODUCTS_ROOT PREFIX CONFIGURE_OPTIONS PYSETUP_INSTALL_OPTIONS REPOVERSION SHA1 CC CXX \
	SCONSFLAGS

"$@"
