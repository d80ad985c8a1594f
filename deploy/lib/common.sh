# Shared by the deploy scripts: source it, don't run it.

# Debian packages the Swift toolchain itself needs: swift.org's list for Debian 12. A toolchain
# unpacked at /opt/swift on a minimal Debian 12 does not start without them (libncurses.so.6 first).
TOOLCHAIN_PACKAGES=(binutils git gnupg2 libc6-dev libcurl4-openssl-dev libedit2 libgcc-12-dev libncurses6
                    libpython3-dev libsqlite3-0 libstdc++-12-dev libxml2-dev libz3-dev pkg-config tzdata
                    zlib1g-dev)
# Debian packages the build and the responder need (the toolchain's among them: all three scripts
# install them).
# libpq-dev: the build links libpq (the PostgreSQL backend), and the binaries load it even on SQLite.
BUILD_PACKAGES=("${TOOLCHAIN_PACKAGES[@]}" pkg-config libfcgi-dev libsodium-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev nginx curl ca-certificates)
# And deploy/install.sh: sqlite3 for the backup command in the README's operations section, openssl
# for the placeholder certificate.
INSTALL_PACKAGES=("${BUILD_PACKAGES[@]}" sqlite3 openssl)
# PostgreSQL 15's server and tools (initdb, pg_ctl, psql): deploy/run.sh --postgres runs a private
# cluster with them. Debian's package also makes the `postgres` system user the cluster runs as.
POSTGRES_PACKAGES=(postgresql)
# And the tests: a real browser for the chat page (Selenium runs on Debian's /usr/bin/python3),
# wrk for the benchmark harness's smoke run, debootstrap for the first run on a fresh Debian 12, and
# PostgreSQL, which the tests start themselves (Tests/TestSupport/PostgresServer.swift).
TEST_PACKAGES=(chromium chromium-driver python3-selenium wrk debootstrap "${POSTGRES_PACKAGES[@]}")

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ensure_packages PKG...: apt-installs the ones that are missing, and only those.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        case " ${missing[*]} " in *" $pkg "*) continue ;; esac
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        die "missing Debian packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})"
    fi
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The Debian 12 package of a library the toolchain loads (what swift.org's packages provide).
toolchain_library_package() { # SONAME
    case "$1" in
        libncurses.so.6*|libncursesw.so.6*|libform*.so.6*|libpanel*.so.6*|libmenu*.so.6*) echo libncurses6 ;;
        libtinfo.so.6*) echo libtinfo6 ;;
        libedit.so.2*) echo libedit2 ;;
        libxml2.so.2*) echo libxml2 ;;
        libz3.so.4*) echo libz3-4 ;;
        libsqlite3.so.0*) echo libsqlite3-0 ;;
        libcurl.so.4*) echo libcurl4 ;;
        libz.so.1*) echo zlib1g ;;
        libpython3.11.so*) echo libpython3.11 ;;
        libstdc++.so.6*) echo libstdc++6 ;;
        libgcc_s.so.1*) echo libgcc-s1 ;;
        libuuid.so.1*) echo libuuid1 ;;
        *) echo "" ;;
    esac
}

# ensure_swift: the toolchain's Debian packages (installed when missing), then Swift 6 on PATH that
# really runs (it is not a Debian 12 package; the toolchain lives in /opt/swift here). Dies with what
# is wrong: no toolchain, one that is not Swift 6, or a library it cannot load and its package.
ensure_swift() {
    ensure_packages "${TOOLCHAIN_PACKAGES[@]}"
    # /opt/swift first when the swift on PATH (if any) is not Swift 6.
    if [ -x /opt/swift/usr/bin/swift ] && ! { command -v swift >/dev/null 2>&1 && swift --version 2>/dev/null | grep -q "Swift version 6"; }; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    command -v swift >/dev/null 2>&1 || die "Swift 6 is not installed: no swift on PATH and no /opt/swift/usr/bin/swift (get the Debian 12 toolchain from swift.org, unpack it at /opt/swift or put its usr/bin on PATH)"
    local swift version missing=() lib pkg packages=()
    swift=$(command -v swift)
    if ! version=$(swift --version 2>&1); then
        # Which libraries the driver and the compiler cannot load, and their packages.
        local frontend
        frontend="$(dirname "$(readlink -f "$swift")")/swift-frontend"
        for lib in $(ldd "$(readlink -f "$swift")" "$frontend" 2>/dev/null | awk '/=> not found/ {print $1}' | sort -u); do
            missing+=("$lib")
            pkg=$(toolchain_library_package "$lib")
            [ -n "$pkg" ] && packages+=("$pkg")
        done
        if [ ${#missing[@]} -gt 0 ]; then
            if [ ${#packages[@]} -gt 0 ]; then
                die "$swift does not start: it cannot load ${missing[*]}; install the Debian package(s): apt-get install $(printf '%s\n' "${packages[@]}" | sort -u | tr '\n' ' ')(the toolchain needs: ${TOOLCHAIN_PACKAGES[*]})"
            fi
            die "$swift does not start: it cannot load ${missing[*]} (find its package with: apt-get install apt-file && apt-file search ${missing[0]}; the toolchain needs: ${TOOLCHAIN_PACKAGES[*]})"
        fi
        die "$swift does not start: $(printf '%s\n' "$version" | head -3 | tr '\n' ' ')"
    fi
    printf '%s\n' "$version" | grep -q "Swift version 6" || die "Swift 6 is required; $swift is: $(printf '%s\n' "$version" | head -1) (get the Debian 12 toolchain from swift.org)"
}

# python_tool PACKAGE...: a virtualenv under .build/python with these PyPI packages; prints its bin dir.
python_tool() {
    local venv="$root/.build/python"
    if [ ! -x "$venv/bin/python" ]; then
        ensure_packages python3-venv >&2
        python3 -m venv "$venv" >&2
    fi
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" >&2
    echo "$venv/bin"
}
