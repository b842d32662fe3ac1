# The two commands a newcomer needs:
#   make demo   deploy both environments to the local AWS emulator
#   make test   lint, security policies, unit and integration tests
# Everything is installed on first use (scripts/bootstrap.sh).

VENV       ?= .venv
BIN        := $(VENV)/bin
EMULATOR   := $(BIN)/python scripts/emulator.py
# Point every AWS call of the recipe at the local emulator.
ON_EMULATOR = eval "$$($(EMULATOR) env)" &&
PYTEST_ARGS ?=

.PHONY: help bootstrap demo teardown test lint policies unit integration bench emulator-start emulator-stop emulator-status

help:
	@echo "make demo       deploy prod and staging to the local AWS emulator (started if needed)"
	@echo "make teardown   remove staging, prod and the shared edge from the emulator"
	@echo "make test       ansible-lint, ruff, security policies, unit and integration tests"
	@echo "make bench      time first and no-op runs, count AWS requests per resource"
	@echo "make emulator-start | emulator-stop | emulator-status"

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap emulator-start
	$(ON_EMULATOR) for env in prod staging; do \
	  $(BIN)/ansible-playbook -i inventories/$$env playbooks/site.yml || exit 1; \
	done

teardown: bootstrap emulator-start
	$(ON_EMULATOR) $(BIN)/ansible-playbook -i inventories/staging playbooks/teardown.yml && \
	  $(BIN)/ansible-playbook -i inventories/prod playbooks/teardown.yml \
	    -e confirm_teardown=webstack-prod -e teardown_edge=true

test: bootstrap lint policies unit integration

lint: bootstrap
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/ansible-lint --profile production
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

policies: bootstrap
	scripts/security_policies.sh

unit: bootstrap
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: bootstrap
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

bench: bootstrap
	$(BIN)/python scripts/bench_provision.py

emulator-start: bootstrap
	@$(EMULATOR) start

emulator-stop:
	@$(EMULATOR) stop

emulator-status:
	@$(EMULATOR) status
