# The two commands a newcomer needs:
#   make demo   deploy both environments to the local AWS emulator
#   make test   lint, security policies, unit and integration tests, the host roles on booted hosts
# Everything is installed on first use (scripts/bootstrap.sh).

VENV       ?= .venv
BIN        := $(VENV)/bin
EMULATOR   := $(BIN)/python scripts/emulator.py
# Point every AWS call of the recipe at the local emulator.
ON_EMULATOR = eval "$$($(EMULATOR) env)" &&
PYTEST_ARGS ?=
# Both pytest steps use every core: the integration tests' shared stack runs on one
# worker (xdist group "stack") while the others take the tests that need no deployment.
# PYTEST_ARGS="-n 0" runs in one process.
PYTEST_XDIST ?= -n auto --dist loadgroup

.PHONY: help bootstrap demo teardown test lint docs docs-test docs-check docs-as-built policies unit ansible-test-units integration app-test app-wheel app-bench sanity sanity-modules module-tests bench emulator-start emulator-stop emulator-status hosts-test hosts-clean hosts-bench awx-test awx-ee dataplane-up dataplane-down dataplane-status dataplane-test request-path-test

help:
	@echo "make demo       deploy prod and staging to the local AWS emulator (started if needed), then serve them"
	@echo "                on this machine: booted hosts, data stores, the load balancers (docs/DATAPLANE.md)"
	@echo "make teardown   stop serving, then remove staging, prod and the shared edge from the emulator"
	@echo "make test       ansible-lint, ruff, security policies, unit, integration and module tests, then the time of each"
	@echo "make bench      time first, no-op (stock and mitogen strategies) and teardown runs, count AWS requests"
	@echo "make app-test   the application's tests against real Redis, MariaDB and nginx (tests/app)"
	@echo "make app-wheel  the backend's wheel and the wheels of its pinned dependencies in app/dist/"
	@echo "make app-bench  requests per second and latency: cache hits, misses, nginx static ceiling"
	@echo "make hosts-test the boot path and the host roles on booted Debian 12 hosts (every molecule scenario; MOLECULE_SCENARIOS=stack for one), time of each"
	@echo "make hosts-clean remove every booted test host and the hostlab bridge (what a crashed run left)"
	@echo "make hosts-bench a no-op configure.yml on four booted hosts: stock, pipelining, mitogen side by side"
	@echo "make sanity     ansible-test sanity and units on the collection webstack.aws (scripts/ansible_test.sh)"
	@echo "make sanity-modules  ansible-test sanity on plugins/ only (a step of make test)"
	@echo "make ansible-test-units  tests/unit under ansible-test units (a step of make test; make unit: plain pytest)"
	@echo "make module-tests  the modules' ansible-test integration targets on an emulator of their own"
	@echo "                MODULE_TESTS_ON=aws: on the account of tests/integration/cloud-config-aws.ini (costs money)"
	@echo "make docs       the architecture diagrams from the inventories and docs/architecture.pdf (docs/ARCHITECTURE-DOC.md)"
	@echo "make docs-test  the document's tests (tests/docs): diagrams per inventory, the PDF, the staleness check"
	@echo "make docs-check fail when docs/architecture.pdf is older than its sources (a step of make lint)"
	@echo "make docs-as-built  the diagrams from what the emulator holds, and what differs from the inventories"
	@echo "make awx-test   the AWX job templates run by ansible-runner against the emulator, awx/apply.yml checked (tests/awx)"
	@echo "make awx-ee     the execution environment AWX runs the jobs in (execution-environment.yml; podman or docker)"
	@echo "make dataplane-up   the emulator's load balancers served by nginx on this machine (docs/DATAPLANE.md)"
	@echo "make dataplane-down | dataplane-status"
	@echo "make dataplane-test the load balancer stand-in over real HTTPS (tests/dataplane, 1-2 min)"
	@echo "make emulator-start | emulator-stop | emulator-status"

bootstrap:
	@scripts/bootstrap.sh

# Deploys both environments, then serves them on this machine (scripts/demo.py,
# docs/DATAPLANE.md): the load balancer stand-in, the instances the groups launched
# as booted hosts with their data stores; prints where to point curl.
# DEMO_SERVE=no deploys only.
DEMO_SERVE ?= yes
demo: bootstrap emulator-start
	@started=$$(date +%s); $(ON_EMULATOR) for env in prod staging; do \
	  $(BIN)/ansible-playbook -i inventories/$$env playbooks/site.yml || exit 1; \
	done; echo "demo: deploy of both environments $$(( $$(date +%s) - started )) s"
	@if [ "$(DEMO_SERVE)" = yes ]; then $(ON_EMULATOR) $(BIN)/python scripts/demo.py serve; fi

teardown: bootstrap emulator-start
	$(ON_EMULATOR) $(BIN)/python scripts/demo.py stop
	$(ON_EMULATOR) $(BIN)/ansible-playbook -i inventories/staging playbooks/teardown.yml && \
	  $(BIN)/ansible-playbook -i inventories/prod playbooks/teardown.yml \
	    -e confirm_teardown=webstack-prod -e teardown_edge=true

# The steps of `make test`, in order; each is also a target of its own.
# module-tests: the modules' ansible-test integration targets (~4.5 min);
# sanity-modules: ansible-test sanity on plugins/ (the modules, module_utils and
# filters) for every Python found, 3.3 min cold / 1.3 min warm; the whole
# content's sanity (make sanity, 7.5 min cold) adds only roles and playbooks,
# which ansible-lint already checks in lint. docs/COLLECTION.md has the numbers.
# hosts-test: the host roles on booted Debian 12 hosts (docs/HOSTS.md).
# docs-test: tests/docs, the architecture document's diagrams, PDF and staleness check (~15 s).
# ansible-test-units: tests/unit under ansible-test units (its pytest and collection
# loader, as the collection's CI convention wants), in place of `make unit`, which
# runs the same tests with plain pytest and xdist for a faster local loop.
TEST_STEPS ?= lint docs-test policies ansible-test-units app-test integration dataplane-test awx-test module-tests sanity-modules hosts-test

# Runs the steps one by one and, at the end, even when one failed, prints how
# long each took. It stops at the first failing step (the rest show "not run")
# unless make runs with -k, and fails when any step failed. PYTEST_ARGS reaches
# the unit and integration steps, as with `make unit`.
test: bootstrap
	@status=0; report=""; all_started=$$(date +%s%N); \
	seconds() { ms=$$(( ($$(date +%s%N) - $$1) / 1000000 )); echo "$$((ms / 1000)).$$((ms % 1000 / 100))"; }; \
	for step in $(TEST_STEPS); do \
	  if [ "$$status" -ne 0 ] && [ -z "$(findstring k,$(firstword -$(MAKEFLAGS)))" ]; then \
	    report="$$report$$(printf '  %-12s %-8s %8s' "$$step" "not run" "-")\n"; continue; \
	  fi; \
	  started=$$(date +%s%N); \
	  if $(MAKE) --no-print-directory $$step; then result=passed; else result=FAILED; status=1; fi; \
	  report="$$report$$(printf '  %-12s %-8s %6s s' "$$step" "$$result" "$$(seconds $$started)")\n"; \
	done; \
	[ "$$status" -eq 0 ] && result=passed || result=FAILED; \
	printf '\nmake test: time per step\n%b  %-12s %-8s %6s s\n' "$$report" total "$$result" "$$(seconds $$all_started)"; \
	exit $$status

lint: bootstrap
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/ansible-lint --profile production
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m scripts.archdoc check

# The architecture document (docs/ARCHITECTURE-DOC.md): the diagrams drawn from the
# inventories with Graphviz into docs/architecture/build/, then docs/architecture.pdf and
# docs/architecture.sources.json (the hashes docs-check compares). Commit both files.
docs: bootstrap
	$(BIN)/python -m scripts.archdoc pdf

# The diagrams hold what each inventory implies, the PDF builds and holds every section,
# the staleness check fails on a changed source (tests/docs; needs no emulator).
docs-test: bootstrap
	$(BIN)/pytest tests/docs -p no:xdist $(PYTEST_ARGS)

docs-check: bootstrap
	$(BIN)/python -m scripts.archdoc check

# As built: the same diagrams from what the local emulator holds (docs/architecture/build/as-built/)
# and every difference from the inventories (exit 2 when any). On a real account, with its
# credentials in the environment: .venv/bin/python -m scripts.archdoc as-built
docs-as-built: bootstrap emulator-start
	$(ON_EMULATOR) $(BIN)/python -m scripts.archdoc as-built

policies: bootstrap
	scripts/security_policies.sh

unit: bootstrap
	$(BIN)/pytest tests/unit $(PYTEST_XDIST) $(PYTEST_ARGS)

integration: bootstrap
	$(BIN)/pytest tests/integration $(PYTEST_XDIST) $(PYTEST_ARGS)

# AWX (awx/, docs/AWX.md): every job template's playbook, inventory and survey checked
# against the playbooks, a cheap selection of them launched through ansible-runner as
# AWX launches them (against an emulator of their own), awx/apply.yml in check mode
# against a stub of AWX's API, and the execution environment's build context. Two
# workers, one file each at a time: the launches (test_jobs.py, which runs two at a
# time itself) take one, the check of apply.yml and the rest the other (44 s on two
# cores at load 2, about 50 s of CPU: docs/AWX.md).
awx-test: bootstrap
	$(BIN)/pytest tests/awx -n 2 --dist loadfile $(PYTEST_ARGS)

# The execution environment: the collection webstack.aws built from the working tree
# into .cache/awx-ee/ (execution-environment.yml copies it from there), then the image.
# AWX_EE_IMAGE=registry.example.com/webstack/webstack-ee:1.0.0 names it for your registry.
AWX_EE_IMAGE ?= webstack-ee:latest
AWX_EE_RUNTIME ?= podman
awx-ee: bootstrap
	rm -rf .cache/awx-ee
	$(BIN)/ansible-galaxy collection build --output-path .cache/awx-ee
	$(BIN)/ansible-builder build -f execution-environment.yml -c .cache/awx-ee/context \
	  --container-runtime $(AWX_EE_RUNTIME) -t $(AWX_EE_IMAGE)

# The application (app/, docs/APP.md). Its tests start their own Redis, MariaDB and
# nginx on free ports (scripts/bootstrap.sh installs them) and share them across the
# session, so they run in one process: on two cores, xdist workers would each start
# their own stores for less than they save.
app-test: bootstrap
	$(BIN)/pytest tests/app -p no:xdist $(PYTEST_ARGS)

# app/dist/: the backend's wheel, and wheelhouse/ with a wheel of every pinned
# dependency (app/requirements.txt, markers dropped so that a host whose Python
# needs a conditional one finds it), so a host installs with no package index:
#   pip install --no-index --find-links dist --find-links dist/wheelhouse webstack-backend
# Rebuilt only when app/ changed, reproducibly (scripts/bundle.py, which also puts
# them in the host bundle).
APP_DIST ?= app/dist
app-wheel: bootstrap
	$(BIN)/python scripts/bundle.py app-wheel --dist $(APP_DIST)

# APP_BENCH_ARGS="--duration 10 --connections 64" (app/dev/bench.py --help).
APP_BENCH_ARGS ?=
app-bench: bootstrap
	$(BIN)/python app/dev/bench.py $(APP_BENCH_ARGS)

# The module gate of the collection webstack.aws: ansible-test sanity (every
# Python found) and units, timed (scripts/ansible_test.sh).
sanity: bootstrap
	VENV=$(VENV) scripts/ansible_test.sh

# The unit tests under ansible-test units (a step of make test).
ansible-test-units: bootstrap
	VENV=$(VENV) scripts/ansible_test.sh units

# The step of make test: ansible-test sanity on the collection's Python content.
sanity-modules: bootstrap
	VENV=$(VENV) SANITY_TARGETS="plugins/" scripts/ansible_test.sh sanity

# The modules' ansible-test integration targets (tests/integration/targets/), each
# check mode, create, rerun, one change, delete: against a fresh emulator, or with
# MODULE_TESTS_ON=aws against a real account (docs/COLLECTION.md says what it costs).
# MODULE_TESTS="acm_certificate_request ..." runs only those targets.
MODULE_TESTS ?=
module-tests: bootstrap
	VENV=$(VENV) scripts/ansible_test.sh integration $(MODULE_TESTS)

# The host roles (roles/common, frontend, backend) on booted Debian 12 hosts
# (scripts/hostlab.py, docs/HOSTS.md): each molecule scenario runs create, prepare,
# converge, idempotence, verify and destroy, and its time is printed at the end;
# tests/hosts (the harness itself: no route out, crash cleanup) runs first.
# tests/hosts/test_boot_path.py then boots a host from staging's launch template user
# data and the published bundle, with no controller run.
# Needs root (mounts, network namespaces, systemd-nspawn). The hosts' root file
# system is built on first use (about 3 min) and cached in .cache/hostlab/; the
# backend's wheels are rebuilt when app/ changed.
# Every scenario is a step of `make test`: each role alone, then `stack` (a frontend, a
# backend and a data host, the three roles together); MOLECULE_SCENARIOS=stack runs one.
# Last, the whole request path (tests/hosts/test_request_path.py, below, about 10 min);
# REQUEST_PATH=no leaves it out.
MOLECULE_ALL := common frontend backend stack
MOLECULE_SCENARIOS ?= $(MOLECULE_ALL)
hosts-test: bootstrap app-wheel
	@status=0; report=""; \
	seconds() { ms=$$(( ($$(date +%s%N) - $$1) / 1000000 )); echo "$$((ms / 1000)).$$((ms % 1000 / 100))"; }; \
	started=$$(date +%s%N); $(BIN)/python scripts/hostlab.py build >/dev/null || exit 1; \
	report="$$(printf '  %-12s %-8s %6s s' rootfs ready "$$(seconds $$started)")\n"; \
	started=$$(date +%s%N); \
	if $(BIN)/pytest tests/hosts -p no:xdist -q --ignore=tests/hosts/test_request_path.py; then result=passed; else result=FAILED; status=1; fi; \
	report="$$report$$(printf '  %-12s %-8s %6s s' harness "$$result" "$$(seconds $$started)")\n"; \
	for scenario in $(MOLECULE_SCENARIOS); do \
	  started=$$(date +%s%N); \
	  if PATH="$(abspath $(BIN)):$$PATH" $(BIN)/molecule test -s $$scenario; then result=passed; else result=FAILED; status=1; fi; \
	  report="$$report$$(printf '  %-12s %-8s %6s s' "$$scenario" "$$result" "$$(seconds $$started)")\n"; \
	done; \
	if [ "$(REQUEST_PATH)" != no ]; then \
	  started=$$(date +%s%N); \
	  if $(BIN)/pytest tests/hosts/test_request_path.py -p no:xdist -q -s; then result=passed; else result=FAILED; status=1; fi; \
	  report="$$report$$(printf '  %-12s %-8s %6s s' request-path "$$result" "$$(seconds $$started)")\n"; \
	fi; \
	printf '\nmake hosts-test: time per scenario\n%b' "$$report"; \
	exit $$status

# The whole request path (tests/hosts/test_request_path.py, docs/DATAPLANE.md): both
# environments deployed, then make demo's serve step: six hosts, two data hosts, the
# load balancer stand-in (about 10 min; the last part of hosts-test). Its logs and the
# demo's state are kept in .cache/request-path/ for a failed run.
request-path-test: bootstrap app-wheel
	$(BIN)/python scripts/hostlab.py build >/dev/null
	$(BIN)/pytest tests/hosts/test_request_path.py -p no:xdist -q -s

hosts-clean:
	$(BIN)/python scripts/hostlab.py cleanup

# A no-op configure.yml on four booted hosts with the stock strategy, with pipelining and
# with mitogen, side by side (docs/HOSTS.md). HOSTS_BENCH_ARGS="--rounds 3".
HOSTS_BENCH_ARGS ?=
hosts-bench: bootstrap
	$(BIN)/python scripts/bench_hosts.py $(HOSTS_BENCH_ARGS)

# BENCH_ARGS="--rounds 3" repeats each no-op rerun and keeps the median (a busy machine).
BENCH_ARGS ?=
bench: bootstrap
	$(BIN)/python scripts/bench_provision.py $(BENCH_ARGS)

# The local data plane (docs/DATAPLANE.md): the emulator's ALBs as nginx, with the demo's CA
# in .demo/ca.pem. DATAPLANE_ARGS="--ports 443=9443,80=9080" moves the public listeners.
DATAPLANE  := $(BIN)/python scripts/dataplane.py $(DATAPLANE_ARGS)
DATAPLANE_ARGS ?=
dataplane-up: bootstrap emulator-start
	$(ON_EMULATOR) $(DATAPLANE) up

dataplane-down:
	$(DATAPLANE) down

dataplane-status:
	@$(DATAPLANE) status

# Deploys the shared edge, staging's identity and edge and prod's edge to an emulator of its
# own (40-90 s with the load), then the stand-in's tests (about 20 s): 56-108 s in all, so not a
# step of make test yet (its budget is 90 s).
dataplane-test: bootstrap
	$(BIN)/pytest tests/dataplane -n 0 -q -s $(PYTEST_ARGS)

emulator-start: bootstrap
	@$(EMULATOR) start

emulator-stop:
	@$(EMULATOR) stop

emulator-status:
	@$(EMULATOR) status
