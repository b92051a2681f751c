# Shared helpers for the scripts in this folder (sourced, not run).

# step NAME: starts a named step; the time each step took is printed by steps_summary.
step() {
  _step_close
  _step_name=$* _step_start=$(date +%s)
  printf '\n==> %s\n' "$*"
}
_step_close() {
  [ -n "${_step_name:-}" ] && _step_times+=$(printf '%6ss  %s\n' "$(( $(date +%s) - _step_start ))" "$_step_name")$'\n'
  _step_name=""
}
# steps_summary: one line per step with its duration (where a cold run spends its time).
steps_summary() {
  _step_close
  printf '\nstep times:\n%s' "${_step_times:-}"
}

# ensure_deb COMMAND PACKAGE: installs a Debian package when its command is missing.
ensure_deb() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null 2>&1 && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "${S3SHIFT_APT_UPDATED:-}" ]; then
    $sudo apt-get update -qq
    export S3SHIFT_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
  command -v "$cmd" >/dev/null 2>&1 || { echo "installing $pkg did not provide $cmd" >&2; return 1; }
}

# ensure_venv REQUIREMENTS [VENV]: a Python virtual environment (default .venv) with that requirements file
# installed; prints nothing on success. Reinstalls only when the file changed.
ensure_venv() {
  local req=${1:-scripts/requirements.txt} venv=${2:-.venv}
  local stamp="$venv/.$(basename "$req").sha" want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
    echo "$want" > "$stamp"
  fi
}

# use_target_dir VAR DEFAULT: exports VAR (a cargo target folder; DEFAULT when unset), creates it, and makes sure
# cargo will not take another checkout's build of a workspace crate for this one's.
#
# Cargo names a workspace crate's build the same in every checkout of the workspace and calls it fresh when
# the build is newer than the crate's sources (mtimes). Two checkouts sharing a target folder, as the default
# one outside the clone is meant to be, could therefore each run the other's build: an older checkout built
# last looks up to date to a newer one. The folder remembers the checkout that used it last; when another one
# takes it, this checkout's tracked files are touched (every file, outside a git work tree), so the workspace
# crates are rebuilt (the compiled dependencies, named by version, stay shared).
use_target_dir() {
  local var=$1 dir=${!1:-$2} here stamp
  export "$var=$dir"
  mkdir -p "$dir"
  here=$(pwd -P)
  stamp="$dir/.s3shift-checkout"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$here" ]; then
    # A folder with builds in it but no record of this checkout may hold another's: rebuild ours there.
    if [ -n "$(ls -A "$dir")" ]; then
      echo "$var=$dir was last used by $(cat "$stamp" 2>/dev/null || echo 'an unknown checkout'); rebuilding this checkout's crates there"
      if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z | xargs -0 touch --no-create --
      else
        # No git here (CodeBuild's source is a zip without .git): every file of the tree but .git and target/.
        find . -path ./.git -prune -o -path ./target -prune -o -type f -print0 | xargs -0 -r touch --no-create --
      fi
    fi
    echo "$here" > "$stamp"
  fi
}
