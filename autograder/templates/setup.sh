#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# Everything it installs must be here: the image starts as plain Ubuntu 22.04.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

# INIT: where things are. AUTOGRADER_ROOT moves the whole layout (for tests).
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"                      # this zip, unpacked by Gradescope
VENV="$ROOT/venv"                       # our own Python; the system python3 is left alone
SANDBOX_POOL="${AUTOGRADER_SANDBOX_POOL:-autograder-sb}"  # users ${SANDBOX_POOL}0..15 run student code
POOL_SIZE=16                            # one user per concurrent run, leased by the grader

# writable_by_others FOLDER: true when someone other than root (or us) can create
# a file in FOLDER. The sticky bit does not help: anyone may still create conftest.py.
writable_by_others() {
    local mode owner group
    read -r mode owner group < <(stat -L -c '%a %u %g' -- "$1") || return 0  # unknown: unsafe
    mode=$((8#$mode))
    (( mode & 8#002 )) || (( mode & 8#020 && group != 0 )) || (( owner != 0 && owner != EUID ))
}

# refuse_if_unsafe FOLDER: stop here, with one line, when FOLDER can be written by others.
refuse_if_unsafe() {
    if writable_by_others "$1"; then
        echo "setup.sh: refusing to install: $1 is writable by users other than root," \
             "and pytest (running as root) would load a conftest.py planted in it" >&2
        exit 1
    fi
}

# FIRST, before anything slow: pytest loads every conftest.py in the tests folders
# and in every folder above them, up to /. Only root may be able to write those.
for tests in "$SRC"/assignments/*/tests; do
    [ -d "$tests" ] || continue
    while IFS= read -r -d '' folder; do
        refuse_if_unsafe "$folder"
    done < <(find -H "$tests" -type d -print0)
    for start in "$(realpath -s "$tests")" "$(realpath "$tests")"; do  # as written, and where symlinks lead
        folder="$start"
        while [ "$folder" != / ]; do
            folder=$(dirname "$folder")
            refuse_if_unsafe "$folder"
        done
    done
done

# Python 3 with venv (Ubuntu 22.04 ships python3 without ensurepip). The venv brings its
# own pip; python3-pip's Recommends would pull in build-essential and python3-dev.
if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv
fi
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$SRC/requirements.txt"

# Bubblewrap adds a namespace sandbox (no network, a read-only view, a private /tmp)
# where the kernel allows it; the grader checks at run time and does without it otherwise.
if [ "$(id -u)" = 0 ] && ! command -v bwrap >/dev/null 2>&1; then
    { apt-get install -y -qq --no-install-recommends bubblewrap \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends bubblewrap; }; } \
      >/dev/null 2>&1 || echo "setup.sh: bubblewrap could not be installed; the pool users alone confine student code"
fi

# The unprivileged users that run student code, when we are root: a pool, so that
# concurrent runs never share (or kill) each other's processes. Each has its own group.
if [ "$(id -u)" = 0 ]; then
    for i in $(seq 0 $((POOL_SIZE - 1))); do
        if ! id "$SANDBOX_POOL$i" >/dev/null 2>&1; then
            useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$SANDBOX_POOL$i"
        fi
    done
    # The venv is readable; the source tree (the reference, the hidden tests) is root's
    # alone: the grader copies what a sandbox user runs into its own scratch.
    chmod -R a+rX "$VENV"
    chmod -R go-rwx "$SRC"
fi
# LAST: a pool user must be able to start the venv's Python (it cannot when python3 lives
# where others cannot reach it, under /root for example): else every grading would fail.
if [ "$(id -u)" = 0 ]; then
    if ! failed=$(cd "$SRC" && PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" -m autograder.cli \
                  check-sandbox --sandbox-pool "$SANDBOX_POOL" 2>&1 >/dev/null); then
        failed=$(tail -n 1 <<<"$failed")
        echo "setup.sh: installation failed: ${failed#autograder: error: }" >&2
        exit 1
    fi
fi
echo "setup complete"
