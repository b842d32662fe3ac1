#!/usr/bin/env bash
# The module gate: ansible-test sanity and units on the collection webstack.aws.
#   scripts/ansible_test.sh                  sanity, then units
#   scripts/ansible_test.sh sanity [ARGS]    sanity only; ARGS go to ansible-test (--test pylint, ...)
#   scripts/ansible_test.sh units [ARGS]     units only
#   scripts/ansible_test.sh integration [TARGET...] [ARGS]
#                                            the modules' integration targets (tests/integration/targets/),
#                                            against a fresh emulator of its own (stopped at the end), or,
#                                            with MODULE_TESTS_ON=aws, against the AWS account that
#                                            tests/integration/cloud-config-aws.ini names
#   SANITY_TARGETS="plugins/modules/elb_listener_rule.py" scripts/ansible_test.sh sanity
#
# Sanity checks the collection's content (what galaxy.yml ships: plugins/,
# roles/, playbooks/, meta/, docs/); tests/, scripts/ and the rest are this
# deployment's tooling, held to ruff's rules (pyproject.toml) instead. Units
# runs tests/unit with ansible-test's pytest setup (the collection loader).
#
# ansible-test runs only from a directory .../ansible_collections/<ns>/<name>,
# and reads it through os.getcwd(), which resolves symbolic links: a link to
# the repository is not enough. So the collection's files (tracked, and
# untracked ones git does not ignore: the working tree, uncommitted edits
# included) are copied into a temporary layout, beside links to the
# collections it depends on, which the import and units tests need.
#
# --local: ansible-test runs from the project's virtualenv (--docker needs a
# container engine). Even so, each sanity test that needs packages (pylint,
# pycodestyle, voluptuous, ...) gets a virtual environment of ansible-test's,
# with the versions ansible-test pins, and ansible-test bootstraps pip into it
# with a script it downloads from a host this network does not reach:
# scripts/ansible_test_get_pip.py stands in for that script. HOME points at
# .cache/ansible-test for ansible-test, so those environments (built once, from
# the package index, then reused) and the stand-in stay out of ~/.ansible.
# Python versions: every supported one found on PATH or under pyenv (compile
# and import run once per version); ansible-test skips the missing ones and
# says so.
# Results: tests/output/ (git-ignored) of the repository.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The virtualenv (scripts/bootstrap.sh), as an absolute path: the tests run elsewhere.
VENV="$(cd "${VENV:-$ROOT/.venv}" && pwd)"
PYTHON="$VENV/bin/python"
ANSIBLE_TEST="$VENV/bin/ansible-test"
# Module Pythons of ansible-core 2.19 (the controller needs 3.11 or newer).
PYTHON_VERSIONS=(3.8 3.9 3.10 3.11 3.12 3.13 3.14)

read -r -a SANITY_TARGETS <<<"${SANITY_TARGETS:-plugins/ roles/ playbooks/ meta/ docs/ galaxy.yml README.md CHANGELOG.md}"

what="${1:-all}"
[[ $# -gt 0 ]] && shift
case "$what" in
  all) [[ $# -eq 0 ]] || what=usage ;;
  sanity | units | integration) ;;
  *) what=usage ;;
esac
if [[ "$what" == usage ]]; then
  echo "usage: $0 [sanity [ansible-test args] | units [ansible-test args] | integration [targets] [args]]" >&2
  exit 2
fi

# ansible-test's cache: ~/.ansible/test/{cache,venv}.
TEST_HOME="$ROOT/.cache/ansible-test"
ANSIBLE_TEST_SOURCE="$("$PYTHON" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')"
pip_version="$(grep -oP "pip='\K[0-9.]+" "$ANSIBLE_TEST_SOURCE/_internal/python_requirements.py")"
mkdir -p "$TEST_HOME/.ansible/test/cache"
cp "$ROOT/scripts/ansible_test_get_pip.py" "$TEST_HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
COLLECTION="$WORK/ansible_collections/webstack/aws"
mkdir -p "$COLLECTION"

# The collection's files, but two that galaxy.yml's build_ignore leaves out of
# the collection too: collections/ holds the link back to the repository root
# (the collection inside itself), and plugins/strategy/ is the mitogen shim of
# this deployment's ansible.cfg, not collection content. A file deleted but not
# yet committed is still listed: tar skips it.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard -- . ':!collections' ':!plugins/strategy' |
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
ln -s "$PYTHON" "$BIN/python3.11" # the controller
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
  if (cd "$COLLECTION" && HOME="$TEST_HOME" "$@"); then
    echo "== $label passed in $((SECONDS - started)) s"
  else
    echo "== $label FAILED in $((SECONDS - started)) s"
    status=1
  fi
}

if [[ "$what" == all || "$what" == sanity ]]; then
  timed "ansible-test sanity" "$ANSIBLE_TEST" sanity --local --color no "$@" "${SANITY_TARGETS[@]}"
fi
if [[ "$what" == all || "$what" == units ]]; then
  timed "ansible-test units" "$ANSIBLE_TEST" units --local --color no --python 3.11 "$@"
fi
if [[ "$what" == integration ]]; then
  # ansible-test's aws cloud plugin reads credentials from tests/integration/cloud-config-aws.ini
  # and hands them to the targets as aws_access_key, aws_secret_key, security_token, aws_region
  # (and resource_prefix); the targets pass them through module_defaults, as amazon.aws's do.
  CLOUD_CONFIG="$COLLECTION/tests/integration/cloud-config-aws.ini"
  if [[ "${MODULE_TESTS_ON:-emulator}" == aws ]]; then
    # A real account: the file the user wrote from ansible-test's template (git-ignored).
    if [[ ! -f "$ROOT/tests/integration/cloud-config-aws.ini" ]]; then
      echo "MODULE_TESTS_ON=aws needs tests/integration/cloud-config-aws.ini (docs/COLLECTION.md says how)" >&2
      exit 2
    fi
    cp "$ROOT/tests/integration/cloud-config-aws.ini" "$CLOUD_CONFIG"
  else
    # An emulator of its own, on a free port, whose state (and request log) stays in the work folder.
    export EMULATOR_STATE_DIR="$WORK/emulator" EMULATOR_PORT=0 MOTO_ACM_VALIDATION_WAIT=1
    "$PYTHON" "$ROOT/scripts/emulator.py" start
    trap '"$PYTHON" "$ROOT/scripts/emulator.py" stop >/dev/null; rm -rf "$WORK"' EXIT
    eval "$("$PYTHON" "$ROOT/scripts/emulator.py" env)"
    cat >"$CLOUD_CONFIG" <<INI
[default]
aws_access_key: $AWS_ACCESS_KEY_ID
aws_secret_key: $AWS_SECRET_ACCESS_KEY
aws_region: $AWS_DEFAULT_REGION
aws_endpoint_url: $AWS_ENDPOINT_URL
on_emulator: true
INI
  fi
  # Targets the emulator cannot run (alias emulator/unsupported, with the reason in the aliases file).
  skip=()
  if [[ "${MODULE_TESTS_ON:-emulator}" != aws ]]; then
    for aliases in "$COLLECTION"/tests/integration/targets/*/aliases; do
      if grep -qx 'emulator/unsupported' "$aliases"; then
        skip+=(--exclude "$(basename "$(dirname "$aliases")")")
      fi
    done
  fi
  # --local: from the project's virtualenv; HOME (above) is ours, so no ~/.aws of the user's is read.
  timed "ansible-test integration" "$ANSIBLE_TEST" integration --local --color no --python 3.11 "${skip[@]}" "$@"
  if [[ -n "${EMULATOR_STATE_DIR:-}" && -f "$EMULATOR_STATE_DIR/requests.log" ]]; then
    echo "emulator requests: $(wc -l <"$EMULATOR_STATE_DIR/requests.log")"
  fi
fi

# Keep the results where the repository's .gitignore expects them.
if [[ -d "$COLLECTION/tests/output" ]]; then
  rm -rf "$ROOT/tests/output"
  cp -r "$COLLECTION/tests/output" "$ROOT/tests/output"
fi
exit "$status"
