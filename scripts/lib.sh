# Helpers sourced by the scripts in this folder.
# shellcheck shell=bash

# Where tools that take long to build (worker-build, wasm-bindgen) are installed once per machine.
export EDGEMETER_TOOLS=${EDGEMETER_TOOLS:-$HOME/.cache/edgemeter-tools}
export PATH="$EDGEMETER_TOOLS/bin:$PATH"

STEPS_PASSED=0
STEPS_FAILED=0
FAILED_NAMES=()

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# step NAME COMMAND...: runs one part of the test suite, times it and records the outcome.
step() {
  local name=$1; shift
  say "$name"
  local start=$SECONDS
  if "$@"; then
    STEPS_PASSED=$((STEPS_PASSED + 1))
    say "$name: ok ($((SECONDS - start)) s)"
  else
    STEPS_FAILED=$((STEPS_FAILED + 1))
    FAILED_NAMES+=("$name")
    say "$name: FAILED ($((SECONDS - start)) s)"
  fi
}

# step_in_background NAME COMMAND...: starts one part of the suite beside the next steps (for a
# step that leaves a core idle: the fuzz build overlaps the single-threaded end-to-end clients);
# its output goes to a log that is printed when it is collected. wait_background_steps collects
# every such step, times it and records its outcome as `step` does.
BACKGROUND_STEPS=()
step_in_background() {
  local name=$1; shift
  local log; log=$(mktemp /tmp/edgemeter-step.XXXXXX)
  say "$name (started in the background, log: $log)"
  ( "$@" ) >"$log" 2>&1 &
  BACKGROUND_STEPS+=("$!|$SECONDS|$log|$name")
}

wait_background_steps() {
  local entry pid start log name
  for entry in "${BACKGROUND_STEPS[@]}"; do
    IFS='|' read -r pid start log name <<<"$entry"
    if wait "$pid"; then
      cat "$log"
      STEPS_PASSED=$((STEPS_PASSED + 1))
      say "$name: ok ($((SECONDS - start)) s, in the background)"
    else
      cat "$log"
      STEPS_FAILED=$((STEPS_FAILED + 1))
      FAILED_NAMES+=("$name")
      say "$name: FAILED ($((SECONDS - start)) s, in the background)"
    fi
    rm -f "$log"
  done
  BACKGROUND_STEPS=()
}

summary() {
  wait_background_steps
  echo
  for n in "${FAILED_NAMES[@]}"; do echo "failed: $n"; done
  echo "test steps: $STEPS_PASSED passed, $STEPS_FAILED failed"
  [[ $STEPS_FAILED -eq 0 ]]
}

# apt_install PKG...: installs Debian packages (root only), running apt-get update once.
apt_install() {
  [[ $(id -u) -eq 0 ]] || die "missing Debian packages: $*; install them with: sudo apt-get install $*"
  if [[ -z ${APT_UPDATED:-} ]]; then
    apt-get update -qq >&2
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# free_port: prints a free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
