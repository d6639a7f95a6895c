#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# Everything it installs must be here: the image starts as plain Ubuntu 22.04.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

# INIT: where things are. AUTOGRADER_ROOT moves the whole layout (for tests).
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"                      # this zip, unpacked by Gradescope
VENV="$ROOT/venv"                       # our own Python; the system python3 is left alone
SANDBOX_USER="${AUTOGRADER_SANDBOX_USER:-autograder-student}"  # runs student code

# Python 3 with venv (Ubuntu 22.04 ships python3 without ensurepip).
if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip
fi
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$SRC/requirements.txt"

# The unprivileged user that runs student code, when we are root.
if [ "$(id -u)" = 0 ]; then
    if ! id "$SANDBOX_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$SANDBOX_USER"
    fi
    # The toolkit and the venv are readable; the reference and the hidden tests are not.
    chmod -R a+rX "$SRC" "$VENV"
    for secret in "$SRC/solutions" "$SRC"/assignments/*/tests/hidden; do
        if [ -e "$secret" ]; then chmod -R go-rwx "$secret"; fi
    done
fi
echo "setup complete"
