#!/usr/bin/env bash
# qdd: one entry point for setting up, testing and regenerating the paper's artifacts.
#
#   ./reproduce.sh            same as `./reproduce.sh paper`
#   ./reproduce.sh setup      create .venv from requirements/lock.txt and install qdd (idempotent)
#   ./reproduce.sh test       setup, then: nbdev_export/nbdev_clean change nothing, nbdev_test (slow cells too), pytest
#   ./reproduce.sh smoke      setup, then the whole paper pipeline at tiny budgets (minutes) into runs/smoke/
#   ./reproduce.sh paper      setup, then the paper's artifacts at the paper profile's budgets into results/
#   ./reproduce.sh docs       setup, then the documentation website into _docs/ (tools/docs.py: mkdocs-material, mkdocs-jupyter)
#   ./reproduce.sh paper --only mnist-qlenet --jobs 2 --force --epochs N    one piece, in parallel, redo, cap
#   ./reproduce.sh paper --list            every run: what it is, the runs missing and an estimate of their time
#   ./reproduce.sh paper --records-only    the seed studies report their archived records and run none of those missing
#
# Environment: QDD_DATA (data root, default ./data, else ../shared/data: qdd.core.data_root), QDD_CACHE (decoded data sets, default
# ~/.cache/qdd), QDD_DEVICE (cpu or cuda; default cuda when available), QDD_THREADS (threads per run, default 1),
# PYTHON (interpreter for the venv, default python3).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="$ROOT/.venv"
LOCK="$ROOT/requirements/lock.txt"
STAMP="$VENV/.qdd-setup-stamp"

# The data root: qdd.core.data_root, one rule for every entry point ($QDD_DATA, else ./data, else ../shared/data).

log() { printf '[reproduce] %s\n' "$*" >&2; }
die() { printf '[reproduce] error: %s\n' "$*" >&2; exit 1; }

setup_fingerprint() { cat "$LOCK" "$ROOT/settings.ini" "$ROOT/setup.py" | sha256sum | cut -d' ' -f1; }

cmd_setup() {
  local py=${PYTHON:-python3}
  command -v "$py" >/dev/null || die "no '$py' on PATH: install Python >= 3.10 or set PYTHON=/path/to/python3"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || die "$py is $("$py" -V 2>&1); qdd needs Python >= 3.10"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(setup_fingerprint)" ] && [ -x "$VENV/bin/python" ]; then
    log "environment up to date ($VENV)"; return 0
  fi
  local t0=$SECONDS
  [ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$py" -m venv "$VENV"; }
  log "installing the locked environment (requirements/lock.txt)"
  # pip warns about every local index folder it skips; keep the log readable
  "$VENV/bin/python" -m pip install --quiet -r "$LOCK" 2> >(grep -v "^WARNING: Location" >&2)
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT"
  "$VENV/bin/python" -m pip check
  setup_fingerprint > "$STAMP"
  log "setup done in $((SECONDS - t0)) s"
}

in_venv() { PATH="$VENV/bin:$PATH" "$@"; }

# Snapshot of the tracked notebooks and library: nbdev_export / nbdev_clean must leave it unchanged.
source_snapshot() { { git status --porcelain -- nbs qdd; git diff -- nbs qdd; } 2>/dev/null | sha256sum; }

# The checks of a learning outcome (an accuracy gain, a reference trajectory): run a second time under another
# instruction path, so that a threshold tuned to one CPU's rounding fails here rather than on a reader's machine.
LEARNING_NBS="^0[467]_"   # 04_replay, 06_distill, 07_evaluate
LEARNING_TESTS=(tests/test_reference_steps.py tests/test_stability.py::test_a_run_records_loss_gradients_and_the_spectrum_of_w_T
                tests/test_cli.py::test_evaluate_on_a_pennylane_device_matches_the_torch_engine)
OTHER_PATH=(ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2)

cmd_test() {
  cmd_setup
  if git rev-parse --git-dir >/dev/null 2>&1; then
    local before after
    before=$(source_snapshot)
    in_venv nbdev_export
    in_venv nbdev_clean
    for nb in nbs/paper/*.ipynb; do in_venv nbdev_clean --fname "$nb"; done
    after=$(source_snapshot)
    if [ "$before" != "$after" ]; then
      git status --short -- nbs qdd >&2
      die "nbdev_export / nbdev_clean changed nbs/ or qdd/: export and clean the notebooks, then commit"
    fi
    log "nbdev_export and nbdev_clean change nothing"
    in_venv python tools/readme.py --check || die "README.md is stale: run .venv/bin/python tools/readme.py and commit"
  else
    log "not a git checkout: skipping the export/clean no-op check"
  fi
  # cells flagged slow read the real data sets: run them wherever the data are (always in CI)
  local flags=() data; data=$(in_venv python -c 'from qdd.core import data_root; print(data_root())')
  if [ -f "$data/MNIST/raw/train-images-idx3-ubyte" ]; then
    flags=(--flags slow); log "nbdev_test (with the cells flagged slow)"
  else
    log "nbdev_test (no data at $data: the cells flagged slow, which read it, are skipped)"
  fi
  in_venv nbdev_test --n_workers 2 "${flags[@]}"
  log "pytest"
  in_venv python -m pytest -q "$@"
  log "the learning checks again under ${OTHER_PATH[*]}"
  env "${OTHER_PATH[@]}" PATH="$VENV/bin:$PATH" nbdev_test --n_workers 2 --path nbs --file_re "$LEARNING_NBS" --timing "${flags[@]}"
  env "${OTHER_PATH[@]}" PATH="$VENV/bin:$PATH" python -m pytest -q "${LEARNING_TESTS[@]}"
}

# The paper runner (qdd.paper): each run is a papermill process over a notebook in nbs/paper/; complete runs are
# skipped. Extra flags pass through: --jobs N, --only NAME..., --force, --epochs N, --list, --records-only.
# A bad flag or run name is a one-line message and exit status 2 (qdd.paper.main), not a traceback.
run_profile() { cmd_setup; in_venv python -m qdd.paper --profile "$@"; }

sub=${1:-paper}
[ $# -gt 0 ] && shift
case "$sub" in
  setup) cmd_setup "$@" ;;
  test) cmd_test "$@" ;;
  paper) run_profile paper "$@" ;;
  smoke) run_profile smoke "$@" ;;
  docs) cmd_setup; in_venv python tools/docs.py "$@" ;;
  -h|--help|help) sed -n '2,12p' "$0" ;;
  *) die "unknown subcommand '$sub': use setup, test, smoke, paper or docs (see ./reproduce.sh --help)" ;;
esac
