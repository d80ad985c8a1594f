# Shared by the deploy scripts: source it, don't run it.

# Debian packages the build and the responder need.
BUILD_PACKAGES=(pkg-config libfcgi-dev libsodium-dev libcurl4-openssl-dev libsqlite3-dev nginx curl ca-certificates)
# And deploy/install.sh: sqlite3 for the backup command in the README's operations section, openssl
# for the placeholder certificate.
INSTALL_PACKAGES=("${BUILD_PACKAGES[@]}" sqlite3 openssl)
# And the tests: a real browser for the chat page (Selenium runs on Debian's /usr/bin/python3), and
# wrk for the benchmark harness's smoke run.
TEST_PACKAGES=(chromium chromium-driver python3-selenium wrk)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ensure_packages PKG...: apt-installs the ones that are missing, and only those.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
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

# ensure_swift: Swift 6 on PATH (it is not a Debian 12 package; the toolchain lives in /opt/swift here).
ensure_swift() {
    if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    command -v swift >/dev/null 2>&1 || die "Swift 6 is not installed: get a toolchain from swift.org and put it on PATH"
    swift --version 2>/dev/null | grep -q "Swift version 6" || die "Swift 6 is required; found: $(swift --version 2>&1 | head -1)"
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
