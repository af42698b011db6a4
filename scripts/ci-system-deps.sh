#!/usr/bin/env bash
# Install the Debian packages some tests need and pip cannot provide:
#   - postgresql : server binaries (initdb, postgres, pg_ctl) for the PostgreSQL instance test (pytest -m postgres)
#   - chromium   : headless browser for the Dagster UI screenshot test (pytest -m browser)
# Idempotent: packages already installed are skipped without touching apt, so repeated runs cost ~nothing.
# Needs root (CI) or passwordless sudo; otherwise it prints the command to run and exits non-zero.
set -euo pipefail

# package -> a file whose presence proves the package's binaries are usable
declare -A PROBES=(
  [postgresql]="/usr/lib/postgresql/*/bin/initdb"
  [chromium]="/usr/bin/chromium"
)
ORDER=(postgresql chromium)

installed() {
  local probe="$1"
  # compgen expands the glob only if something matches
  compgen -G "$probe" >/dev/null
}

missing=()
for pkg in "${ORDER[@]}"; do
  if installed "${PROBES[$pkg]}"; then
    echo "ci-system-deps: $pkg already installed ($(compgen -G "${PROBES[$pkg]}" | head -n1))"
  else
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "ci-system-deps: nothing to install"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ci-system-deps: apt-get not found; install these packages with your OS package manager: ${missing[*]}" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "ci-system-deps: not root and no passwordless sudo; run as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

echo "ci-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

for pkg in "${missing[@]}"; do
  if ! installed "${PROBES[$pkg]}"; then
    echo "ci-system-deps: $pkg was installed but ${PROBES[$pkg]} is still missing" >&2
    exit 1
  fi
  echo "ci-system-deps: $pkg installed ($(compgen -G "${PROBES[$pkg]}" | head -n1))"
done
