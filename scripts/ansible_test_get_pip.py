"""Stand-in for the pip bootstrap script (get-pip.py) ansible-test downloads.

ansible-test creates each sanity test's virtual environment without pip, then
runs `<venv python> get_pip_<version>.py [pip options] pip==<version>`, with the
script downloaded from ci-files.testing.ansible.com, which this network does not
reach. scripts/ansible_test.sh puts this file where ansible-test caches that
download. It installs pip from the interpreter's own ensurepip, then lets that
pip install what was asked from the configured package index (pip's config and
PIP_* variables apply as usual).
"""

import subprocess
import sys

# get-pip.py's own options; pip install does not know them.
GET_PIP_OPTIONS = ("--no-setuptools", "--no-wheel")

arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_OPTIONS]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", *arguments])
