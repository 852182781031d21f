"""Loads the ard-workqueue lease heartbeat into a worker image's Python at start-up.

Python imports the first `sitecustomize` module on its path when it starts (see the `site`
module). The worker pod puts this file's folder first on PYTHONPATH (a read-only ConfigMap
volume), so this runs inside the image's own interpreter without changing the image. It only
installs an import hook for the worker's `rediswq` module (see ard_lease_heartbeat.py), then
runs the image's own `sitecustomize`, if it has one, so nothing the image does at start-up is
lost. Whatever goes wrong here, the interpreter starts as it would without this file.
"""
import os
import sys


def _install_heartbeat():
    try:
        import ard_lease_heartbeat
        ard_lease_heartbeat.install()
    except Exception as error:  # never stop the interpreter from starting
        sys.stderr.write(
            "ard-lease-heartbeat: WARNING: not loaded (%s: %s); the worker runs without lease renewal\n"
            % (type(error).__name__, error)
        )


def _chain_to_next_sitecustomize():
    """Runs the `sitecustomize` that this one shadows (the next one on sys.path), if any.

    Its exceptions propagate to `site`, which reports them exactly as it would without us.
    """
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    # While it runs it is `sitecustomize`, as it would be without us; afterwards too, so code
    # that looks at sys.modules["sitecustomize"] sees the image's module.
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_install_heartbeat()
_chain_to_next_sitecustomize()
