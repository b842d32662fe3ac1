#!/usr/bin/env bash
# The module gate: ansible-test sanity and units on the collection webstack.aws.
#   scripts/ansible_test.sh                 sanity (every test, every Python found) and units
#   scripts/ansible_test.sh sanity [ARGS]   sanity only, e.g. sanity --test validate-modules
#   scripts/ansible_test.sh units [ARGS]    units only
#
# ansible-test runs only from a directory .../ansible_collections/<ns>/<name>,
# and reads it through os.getcwd(), which resolves symbolic links: a link to
# the repository is not enough. So the collection's files (tracked, and
# untracked ones git does not ignore: the working tree, uncommitted edits
# included) are copied into a temporary layout, beside links to the
# collections it depends on, which the import and units tests need.
#
# --local: ansible-test runs in the project's virtualenv, where requirements.txt
# installs what sanity needs (pylint, pycodestyle, voluptuous, ...); its
# --venv/--docker modes first download a pip bootstrap, unreachable here.
# Python versions: every supported one found on PATH or under pyenv (compile
# and import run once per version); ansible-test skips the missing ones and
# says so.
# Results: tests/output/ (git-ignored) of the repository.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="$VENV/bin/python"
ANSIBLE_TEST="$VENV/bin/ansible-test"
# Module Pythons of ansible-core 2.19 (the controller needs 3.11 or newer).
PYTHON_VERSIONS=(3.8 3.9 3.10 3.11 3.12 3.13 3.14)

what="${1:-all}"
[[ $# -gt 0 ]] && shift
case "$what" in
  all | sanity | units) ;;
  *)
    echo "usage: $0 [all | sanity [ansible-test args] | units [ansible-test args]]" >&2
    exit 2
    ;;
esac

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
COLLECTION="$WORK/ansible_collections/webstack/aws"
mkdir -p "$COLLECTION"

# The collection's files. collections/ holds the link back to the repository
# root (the collection inside itself), which is no content.
# A file deleted but not yet committed is still listed: tar skips it.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard -- . ':!collections' |
  tar --null --no-recursion --ignore-failed-read --warning=no-failed-read -T - -cf -) |
  tar -xf - -C "$COLLECTION"

# The dependencies (galaxy.yml), from the collections the virtualenv bundles.
BUNDLED="$("$PYTHON" -c 'import ansible_collections, os
print(next(p for p in ansible_collections.__path__ if os.path.isdir(os.path.join(p, "amazon", "aws"))))')"
for dependency in amazon/aws community/aws community/general; do
  mkdir -p "$WORK/ansible_collections/${dependency%/*}"
  ln -s "$BUNDLED/$dependency" "$WORK/ansible_collections/$dependency"
done

# python3.X on PATH for every version that runs: pyenv's shims only run the
# versions pyenv selects, so link its interpreters directly.
BIN="$WORK/bin"
mkdir -p "$BIN"
ln -s "$PYTHON" "$BIN/python3.11" # the controller, with the sanity requirements
found=(3.11)
pyenv_root="$(pyenv root 2>/dev/null || true)"
for version in "${PYTHON_VERSIONS[@]}"; do
  [[ "$version" == 3.11 ]] && continue
  for candidate in "$(command -v "python$version" || true)" "$pyenv_root"/versions/"$version".*/bin/"python$version"; do
    if [[ -n "$candidate" && -x "$candidate" ]] && "$candidate" -c '' 2>/dev/null; then
      ln -s "$candidate" "$BIN/python$version"
      found+=("$version")
      break
    fi
  done
done
export PATH="$BIN:$VENV/bin:$PATH"
echo "ansible-test $("$ANSIBLE_TEST" --version | cut -d' ' -f2-) in $COLLECTION; Pythons found: ${found[*]}"

status=0
timed() {
  local started=$SECONDS label="$1"
  shift
  if (cd "$COLLECTION" && "$@"); then
    echo "== $label passed in $((SECONDS - started)) s"
  else
    echo "== $label FAILED in $((SECONDS - started)) s"
    status=1
  fi
}

if [[ "$what" == all || "$what" == sanity ]]; then
  timed "ansible-test sanity" "$ANSIBLE_TEST" sanity --local --color no "$@"
fi
if [[ "$what" == all || "$what" == units ]]; then
  timed "ansible-test units" "$ANSIBLE_TEST" units --local --color no --python 3.11 "$@"
fi

# Keep the results where the repository's .gitignore expects them.
if [[ -d "$COLLECTION/tests/output" ]]; then
  rm -rf "$ROOT/tests/output"
  cp -r "$COLLECTION/tests/output" "$ROOT/tests/output"
fi
exit "$status"
