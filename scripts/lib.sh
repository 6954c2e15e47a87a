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

# System packages the tests need (Debian): Chromium for the browser tests, libseccomp for the sandbox's checks,
# Debian's python3 with venv for the JupyterHub tests' users (their servers cannot run a Python under /root),
# iproute2 and openssl for the remote-judging tests.
ensure_system_packages() {
    local missing=()
    command -v chromium >/dev/null || missing+=(chromium)
    dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q "ok installed" || missing+=(python3-venv)
    ldconfig -p 2>/dev/null | grep -q "libseccomp.so.2" || missing+=(libseccomp2)
    fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
    # The remote-judging tests' gateway hosts: network namespaces and veth pairs (ip), entered with nsenter
    # (util-linux), over TLS with a self-signed certificate made by openssl.
    command -v ip >/dev/null || missing+=(iproute2)
    command -v nsenter >/dev/null || missing+=(util-linux)
    command -v openssl >/dev/null || missing+=(openssl)
    # PostgreSQL's server binaries (/usr/lib/postgresql/*/bin): tests/postgres_server.py starts its own server.
    compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || missing+=(postgresql)
    # Redis for the tests of several service processes (pytest-redis starts its own redis-server).
    command -v redis-server >/dev/null || missing+=(redis-server)
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing system packages: ${missing[*]}"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    ensure_postgres_test_user
}

# PostgreSQL refuses to run as root: when the tests run as root, their server runs as this unprivileged system
# user (no home, no login shell), which owns nothing but the test server's temporary directory.
POSTGRES_TEST_USER="duel-pg"
ensure_postgres_test_user() {
    [ "$(id -u)" = 0 ] || return 0
    id -u "$POSTGRES_TEST_USER" >/dev/null 2>&1 && return 0
    log "creating the system user $POSTGRES_TEST_USER for the tests' PostgreSQL server"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$POSTGRES_TEST_USER"
}

# configurable-http-proxy for the JupyterHub tests (tests/hub), exactly as pinned in its committed lock file.
HUB_PROXY_DIR="tests/hub/proxy"
ensure_hub_proxy() {
    local bin="$HUB_PROXY_DIR/node_modules/.bin/configurable-http-proxy" want
    want="$(node -p "require('./$HUB_PROXY_DIR/package-lock.json').packages['node_modules/configurable-http-proxy'].version")"
    [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "$want" ] && return 0
    log "installing configurable-http-proxy $want for the JupyterHub tests"
    npm ci --prefix "$HUB_PROXY_DIR" --no-audit --no-fund --loglevel=error >/dev/null
}
