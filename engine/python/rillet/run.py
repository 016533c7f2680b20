"""Run dataflows from the command line.

```console
$ python -m rillet.run my_module:flow
$ python -m rillet.run my_module:build_flow('input.txt') -w 4
$ python -m rillet.run my_module -i 0 -a "host0:2101;host1:2101"
```

The import string is `module[:name]`, where `name` is a `Dataflow`
variable (default `flow`) or a call of a function that returns one,
with literal arguments. `module` may also be a path to a `.py` file.

Options (each also settable through an environment variable):

- `-w/--workers-per-process N` (`RILLET_WORKERS_PER_PROCESS`): worker
  threads in this process.
- `-i/--process-id I` (`RILLET_PROCESS_ID`) and `-a/--addresses
  "h:p;h:p"` (`RILLET_ADDRESSES`): this process's index and the
  addresses of all processes of a cluster.
- `-s/--snapshot-interval SECONDS` (`RILLET_SNAPSHOT_INTERVAL`):
  length of an epoch in system time; defaults to 10 seconds.

In a Kubernetes StatefulSet, the process ID can instead come from
`RILLET_POD_NAME` minus the `RILLET_STATEFULSET_NAME-` prefix, and the
addresses from the file named by `RILLET_HOSTFILE_PATH` (one per
line).

For unit tests, `rillet.testing.run_main` runs a dataflow in the
current thread instead.

>>> from rillet.run import _prepare_import
>>> _prepare_import("my_module:make_flow(2)")[1]
'make_flow(2)'
"""

import argparse
import ast
import inspect
import os
import signal
import sys
from datetime import timedelta
from typing import Any, Tuple

from rillet import _native

__all__ = [
    "cli_main",
]

_RUNTIME_NAMES = ("cli_main",)
# `cli_main(flow, *, workers_per_process=1, process_id=None,
# addresses=None, epoch_interval=None, recovery_config=None)` comes
# from the native runtime.
_native.bind(globals(), _RUNTIME_NAMES)


def __getattr__(name: str) -> Any:
    return _native.missing_attr(__name__, _RUNTIME_NAMES, name)


def _parse_flow_expr(module_name: str, expr_str: str) -> Tuple[str, list, dict]:
    """Split `name` or `name(literal, key=literal)` into its parts."""
    where = f"{module_name}:{expr_str}"
    try:
        expr = ast.parse(expr_str.strip(), mode="eval").body
    except SyntaxError:
        msg = (
            f"can't parse {expr_str!r} in {where!r} as a name or a call; "
            "use `module:flow` or `module:make_flow(args)`"
        )
        raise SyntaxError(msg) from None

    if isinstance(expr, ast.Name):
        return expr.id, [], {}
    if isinstance(expr, ast.Call):
        if not isinstance(expr.func, ast.Name):
            msg = (
                f"the function in {where!r} must be a plain name defined in "
                "the module, like `make_flow(...)`"
            )
            raise TypeError(msg)
        try:
            args = [ast.literal_eval(arg) for arg in expr.args]
            kwargs = {str(kw.arg): ast.literal_eval(kw.value) for kw in expr.keywords}
        except ValueError:
            msg = (
                f"the arguments in {where!r} must be Python literals "
                "(strings, numbers, lists, ...)"
            )
            raise ValueError(msg) from None
        return expr.func.id, args, kwargs
    msg = (
        f"can't use {expr_str!r} in {where!r}; give a variable name or a "
        "function call like `make_flow('arg')`"
    )
    raise ValueError(msg)


def _called_with_wrong_args(f) -> bool:
    """Whether the `TypeError` being handled came from calling `f` itself.

    If the traceback never entered `f`'s code, the call's arguments
    didn't fit; otherwise the error happened inside `f`.
    """
    tb = sys.exc_info()[2]
    try:
        while tb is not None:
            if tb.tb_frame.f_code is f.__code__:
                return False
            tb = tb.tb_next
        return True
    finally:
        del tb


def _locate_dataflow(module_name, dataflow_name):
    """Import `module_name` and get the dataflow `dataflow_name` names.

    `dataflow_name` is a variable holding a `Dataflow`, or a call of a
    module-level function (with literal arguments) that returns one.
    """
    from rillet.dataflow import Dataflow

    try:
        __import__(module_name)
    except ModuleNotFoundError as ex:
        # Only rephrase when the module (or its package) is missing,
        # not when an import inside it failed.
        missing = ex.name or ""
        if not (module_name == missing or module_name.startswith(missing + ".")):
            raise
        msg = (
            f"could not import {module_name!r}; check the module name and "
            "that it is importable from the current directory"
        )
        raise ImportError(msg) from None
    module = sys.modules[module_name]

    name, args, kwargs = _parse_flow_expr(module_name, dataflow_name)
    try:
        attr = getattr(module, name)
    except AttributeError as ex:
        msg = (
            f"Failed to find attribute {name!r} in {module.__name__!r}; check "
            "the name after ':' in the import string"
        )
        raise AttributeError(msg) from ex

    if inspect.isfunction(attr):
        try:
            flow = attr(*args, **kwargs)
        except TypeError as ex:
            if not _called_with_wrong_args(attr):
                raise
            msg = (
                f"The factory {dataflow_name!r} in module {module.__name__!r} "
                "could not be called with the specified arguments; check its "
                "signature"
            )
            raise TypeError(msg) from ex
    else:
        flow = attr

    if isinstance(flow, Dataflow):
        return flow
    msg = (
        "A valid Rillet dataflow was not obtained from "
        f"'{module.__name__}:{dataflow_name}' (got a {type(flow)!r}); point "
        "at a `Dataflow` variable or a function returning one"
    )
    raise RuntimeError(msg)


class _EnvDefault(argparse.Action):
    """An option whose default comes from an environment variable."""

    def __init__(self, envvar, default=None, **kwargs):
        if envvar:
            default = os.environ.get(envvar, default)
            kwargs["help"] += f" [env: {envvar}]"
        super().__init__(default=default, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)


def _prepare_import(import_str: str) -> Tuple[str, str]:
    """Turn `path/or/module[:attr]` into `(module_name, attr)`.

    A file path is converted into a dotted module name (walking up
    through packages), and the directory containing the top package
    is put first on `sys.path`. `attr` defaults to `"flow"`.
    """
    path, _, flow_name = import_str.partition(":")
    flow_name = flow_name or "flow"
    path = os.path.realpath(path)

    root, ext = os.path.splitext(path)
    if ext == ".py":
        path = root
    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)

    parts = []
    while True:
        path, name = os.path.split(path)
        parts.append(name)
        if not os.path.exists(os.path.join(path, "__init__.py")):
            break

    if sys.path[0] != path:
        sys.path.insert(0, path)

    return ".".join(reversed(parts)), flow_name


def _parse_timedelta(s):
    return timedelta(seconds=int(s))


def _create_arg_parser():
    """The options shared by `rillet.run` and `rillet.testing`."""
    parser = argparse.ArgumentParser(
        prog="python -m rillet.run",
        description="Run a Rillet dataflow",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "import_str",
        type=str,
        help="Where the dataflow is: 'module' or 'path/to/file.py', optionally "
        "followed by ':name' for a Dataflow variable (default 'flow') or "
        "':factory(args)' for a function returning one, e.g. "
        "\"my_pkg.flows:build('in.txt')\"",
    )
    parser.add_argument(
        "-s",
        "--snapshot-interval",
        type=_parse_timedelta,
        help="""System time in seconds between epochs, the points at which
        state is snapshotted once recovery is configured; defaults to 10""",
        action=_EnvDefault,
        envvar="RILLET_SNAPSHOT_INTERVAL",
    )
    return parser


def _parse_args():
    parser = _create_arg_parser()
    scaling = parser.add_argument_group(
        "Scaling",
        "Use '-w' for several worker threads in one process, and '-i/-a' "
        "to run one process of a multi-process cluster",
    )
    scaling.add_argument(
        "-w",
        "--workers-per-process",
        type=int,
        help="Worker threads in this process",
        default=1,
        action=_EnvDefault,
        envvar="RILLET_WORKERS_PER_PROCESS",
    )
    scaling.add_argument(
        "-i",
        "--process-id",
        type=int,
        help="Index of this process in the cluster, from 0",
        action=_EnvDefault,
        envvar="RILLET_PROCESS_ID",
    )
    scaling.add_argument(
        "-a",
        "--addresses",
        help="Addresses of all processes, separated by semicolons, like "
        '"localhost:2101;localhost:2102"',
        action=_EnvDefault,
        envvar="RILLET_ADDRESSES",
    )
    args = parser.parse_args()

    env = os.environ
    # In a Kubernetes StatefulSet the pod name ends in the ordinal.
    if args.process_id is None:
        pod, sset = env.get("RILLET_POD_NAME"), env.get("RILLET_STATEFULSET_NAME")
        if pod is not None and sset is not None:
            args.process_id = int(pod.replace(sset + "-", ""))

    if args.process_id is not None and args.addresses is None:
        hostfile = env.get("RILLET_HOSTFILE_PATH")
        if hostfile is None:
            parser.error(
                "the addresses option is required if a process_id is passed; "
                "pass all processes' addresses with -a/--addresses, "
                "RILLET_ADDRESSES or RILLET_HOSTFILE_PATH"
            )
        with open(hostfile) as lines:
            args.addresses = ";".join(line.strip() for line in lines if line.strip())

    return args


def _main() -> None:
    kwargs = vars(_parse_args())
    snapshot_interval = kwargs.pop("snapshot_interval")
    # Without recovery the epoch length needs no coordination.
    kwargs["epoch_interval"] = snapshot_interval or timedelta(seconds=10)
    kwargs["recovery_config"] = None

    addresses = kwargs.pop("addresses")
    if addresses is not None:
        kwargs["addresses"] = addresses.split(";")

    try:
        mod_str, attr_str = _prepare_import(kwargs.pop("import_str"))
        kwargs["flow"] = _locate_dataflow(mod_str, attr_str)
    except Exception as ex:
        # A run started by the studio reports even this failure to it.
        engine = _native.try_load()
        if engine is not None:
            engine.report_failure(ex, process=kwargs.get("process_id") or 0)
        raise

    _native.load().cli_main(**kwargs)


def _interrupt_once(signum: int, frame: Any) -> None:
    """SIGINT handler: interrupt the run once, then let it stop in peace.

    In a cluster, Ctrl-C reaches every process at about the same time,
    but a process may already be stopping because a peer was interrupted
    first; its own SIGINT must not then interrupt the clean stop.
    """
    if _stopping or isinstance(sys.exc_info()[1], KeyboardInterrupt):
        return
    raise KeyboardInterrupt


_stopping = False


def _exit_interrupted() -> None:
    """Exit after Ctrl-C the way shells report SIGINT, without a traceback."""
    global _stopping
    _stopping = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(130)


def _main_interruptible(main: Any) -> None:
    """Run `main()`, turning Ctrl-C into a clean exit with code 130."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt_once)
    try:
        main()
    except KeyboardInterrupt:
        _exit_interrupted()


if __name__ == "__main__":
    _main_interruptible(_main)
