# Helpers shared by scripts/start.sh and scripts/test.sh.
VENV="${JUPYTER_DUEL_VENV:-$PWD/.venv}"

log() { printf '\033[1m[jupyter-duel]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Python 3.11+ and Node 20+ are the two things this project expects to find.
ensure_toolchain() {
    command -v python3 >/dev/null || die "python3 (3.11 or newer) is required"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "python 3.11 or newer is required"
    command -v node >/dev/null && command -v npm >/dev/null || die "Node.js 20 and npm are required"
}

ensure_venv() {
    ensure_toolchain
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV"
        python3 -m venv "$VENV"
    fi
    # Python 3.11's bundled pip ignores some extras' spellings; a current pip does not.
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
}

# System packages the tests need (Debian): Chromium for the browser tests, libseccomp for the sandbox's checks.
ensure_system_packages() {
    local missing=()
    command -v chromium >/dev/null || missing+=(chromium)
    ldconfig -p 2>/dev/null | grep -q "libseccomp.so.2" || missing+=(libseccomp2)
    fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing system packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
