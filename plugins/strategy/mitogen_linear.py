# The project's default strategy (ansible.cfg: strategy = mitogen_linear).
#
# A stand-in for mitogen's own plugins/strategy/mitogen_linear.py, so that
# ansible.cfg can name this folder instead of a path inside the virtualenv
# (.venv/lib/python3.X/site-packages/ansible_mitogen/plugins/strategy), which
# depends on the Python version. Like mitogen's file, it imports the real
# strategy under its canonical name, ansible_mitogen.plugins.strategy.mitogen_linear:
# Ansible's plugin loader gives this file a made-up module name, and the
# strategy's classes must exist once, under mitogen's names. When the strategy
# runs, ansible_mitogen.strategy adds mitogen's connection and action plugin
# folders (found beside ansible_mitogen itself) to Ansible's loaders, and
# redirects the `local` connection of the playbooks to mitogen_local.
#
# Without mitogen (a virtualenv made from an older requirements.txt, or another
# Python), this stops with a message saying how to run the stock strategy.
from __future__ import annotations

import ctypes
import functools
import os
import signal
from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleError
from ansible.executor.process.worker import WorkerProcess
from ansible.utils.display import Display

try:
    from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule as MitogenLinear
except ImportError as err:
    raise AnsibleError(
        f"The mitogen_linear strategy (ansible.cfg) needs mitogen, which this Python cannot import ({err}). "
        "Install it with scripts/bootstrap.sh (or `make bootstrap`), "
        "or run Ansible's stock strategy instead: ANSIBLE_STRATEGY=linear ansible-playbook ..."
    ) from None

# mitogen's debug log holds every module call's arguments as sent, before
# no_log applies: the database password and the Redis token included.
if os.environ.get("MITOGEN_LOG_LEVEL", "").lower() == "debug":
    Display().warning(
        "MITOGEN_LOG_LEVEL=debug prints module arguments, secrets of no_log tasks included; do not share this output."
    )

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _dies_with_controller(run: Callable[[WorkerProcess], None], controller: int) -> Callable[[WorkerProcess], None]:
    """Wrap WorkerProcess.run so that the worker is killed when ansible-playbook dies.

    ansible-core starts each task's worker in a session of its own (setsid), so
    a SIGKILL to the run's process group (a test interrupting a provision, a CI
    timeout) misses it. Under the stock strategy such a worker ends by itself
    once its module returns. Under mitogen the module runs in mitogen's
    process, which the signal does kill, and the orphaned worker would wait for
    its answer forever.
    """

    @functools.wraps(run)
    def run_until_controller_dies(self: WorkerProcess) -> None:
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (AttributeError, OSError):  # not Linux: no such guard
            pass
        if os.getppid() != controller:  # the controller died before the guard was set
            os._exit(1)
        run(self)

    return run_until_controller_dies


class StrategyModule(MitogenLinear):
    """mitogen's linear strategy, whose task workers do not outlive ansible-playbook."""

    def run(self, iterator: Any, play_context: Any, result: int = 0) -> int:
        stock_run = WorkerProcess.run
        WorkerProcess.run = _dies_with_controller(stock_run, os.getpid())
        try:
            return super().run(iterator, play_context)
        finally:
            WorkerProcess.run = stock_run
