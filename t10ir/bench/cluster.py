"""`t10-bench --ray`: the evaluation matrix as tasks on a Ray cluster.

Ray is an optional dependency (`pip install 't10ir[cluster]'`), imported only here and
only when asked for. The unit of work is `run_matrix`'s: a task per model, batch and
target, running its strategies one after another from cold caches (the first pays for
the plan searches the others reuse), streaming each run's result as it finishes. So the
rows are `run_matrix`'s, in the matrix's order whatever order the tasks finish in, and
so are the meaning of the timing columns.

Where the cluster is (`session`): an address as `ray.init` takes it (`HOST:PORT`,
`ray://HOST:PORT`, `auto` for a cluster started on this machine with `ray start`,
`local`); no address means the cluster in `RAY_ADDRESS` (set inside `ray job submit`)
or else a new local cluster over this machine's cores, shut down after. The cluster's
workers import t10ir and read the model and target files at the paths given, so every
node needs the driver's t10ir and those files (`ray job submit --working-dir .` ships
the directory).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from t10ir.bench.matrix import (
    Config,
    Progress,
    Result,
    Row,
    collect,
    iter_group,
    matrix_groups,
    one_blas_thread,
)
from t10ir.errors import T10Error

INSTALL = "pip install 't10ir[cluster]'"
CONNECT_TIMEOUT_S = 5.0
"""How long `session` waits for a cluster's address to answer before giving up: Ray
itself retries an unreachable address for minutes."""
LOCAL_ENVIRONMENT = {"RAY_USAGE_STATS_ENABLED": "0"}
"""Set in this process (unless already set) when `session` starts a local cluster:
no usage reports sent anywhere."""

AUTH_HINT = (
    "a cluster with token authentication, Ray's default for one started by ray.init "
    "or ray start, needs RAY_AUTH_MODE=token here and its token in ~/.ray/auth_token "
    "or RAY_AUTH_TOKEN"
)
"""Ray does not try a token on an address it is given: said when a connection fails,
unless Ray found no cluster to try (`NO_CLUSTER_HERE`)."""
NO_CLUSTER_HERE = "Could not find any running Ray instance"
"""How Ray's `ConnectionError` for `auto` with no cluster started on this machine
begins: nothing was refused, so a token would not help."""


def import_ray() -> ModuleType:
    """The `ray` module, or a T10Error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise T10Error(f"--ray needs Ray, an optional dependency: {INSTALL}") from None
    return ray


def _check_reachable(address: str, given_by: str) -> None:
    """A T10Error unless `address` (`HOST:PORT` or `ray://HOST:PORT`, from
    `given_by`: `--ray` or `RAY_ADDRESS`) accepts a TCP connection within
    CONNECT_TIMEOUT_S."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise T10Error(
            f"--ray: expected HOST:PORT (a port from 1 to 65535), ray://HOST:PORT, "
            f"auto or local, got '{address}'"
            + ("" if given_by == "--ray" else f" from {given_by}")
        )
    try:
        socket.create_connection(
            (host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S
        ).close()
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise T10Error(
            f"--ray: no Ray cluster answers at {address}: {reason}"
        ) from None


def _starts_local(address: str | None) -> bool:
    return address == "local" or (address is None and not os.environ.get("RAY_ADDRESS"))


@contextmanager
def session(address: str | None) -> Iterator[None]:
    """Ray connected to the cluster at `address` (module docstring; None: the one in
    `RAY_ADDRESS` or a new local one) for the duration, then shut down or
    disconnected. A Ray already initialized in this process is used as it is and left
    so. A bad or unreachable address is a T10Error."""
    ray = import_ray()
    if ray.is_initialized():
        yield
        return
    local = _starts_local(address)
    settings: dict[str, Any] = {"logging_level": logging.WARNING}
    if local:
        address = "local"
        settings["include_dashboard"] = False
        for name, value in LOCAL_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
    else:
        given_by = "--ray" if address else "RAY_ADDRESS"
        address = address or os.environ["RAY_ADDRESS"]
        if address != "auto":
            _check_reachable(address, given_by)
    try:
        # A local cluster's workers inherit this environment: one BLAS thread each.
        with one_blas_thread():
            ray.init(address=address, **settings)
    except (
        ConnectionError,
        ValueError,
        RuntimeError,
        ray.exceptions.RayError,
    ) as error:
        where = (
            "a local Ray cluster"
            if local
            else "a Ray cluster started on this machine (auto)"
            if address == "auto"
            else f"the Ray cluster at {address}"
        )
        first_line = str(error).strip().split("\n", 1)[0]
        if (
            not local
            and not os.environ.get("RAY_AUTH_MODE")
            and NO_CLUSTER_HERE not in first_line
        ):
            first_line += f" ({AUTH_HINT})"
        raise T10Error(f"--ray: cannot connect to {where}: {first_line}") from None
    try:
        yield
    finally:
        ray.shutdown()


def stream(
    function: Callable[..., Iterator[Any]], calls: Sequence[tuple[str, tuple]]
) -> Iterator[Any]:
    """Each (name, arguments) of `calls` as a one-CPU Ray task of the generator
    `function`, yielding what the tasks yield in the order they yield it. An error a
    task raises is raised here as itself when it is a T10Error (a run's diagnostic),
    else as the Ray error; a lost task (its worker died) is a T10Error naming it.
    When the caller stops early or an error is raised, the tasks still running are
    cancelled."""
    ray = import_ray()
    task = ray.remote(num_cpus=1)(function)
    names = {}
    for name, arguments in calls:
        names[task.options(name=name).remote(*arguments)] = name
    pending = list(names)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=1.0)
            for generator in ready:
                try:
                    item = ray.get(next(generator))
                except StopIteration:
                    continue
                except ray.exceptions.RayTaskError as error:
                    if isinstance(error.cause, T10Error):
                        raise error.cause from None
                    raise
                except ray.exceptions.RayError as error:
                    first_line = str(error).strip().split("\n", 1)[0]
                    raise T10Error(f"{names[generator]}: {first_line}") from None
                pending.append(generator)
                yield item
    finally:
        for generator in pending:
            ray.cancel(generator)


def _group_name(config: Config) -> str:
    return f"{config.model} b={config.batch} {config.target}"


def run_matrix_on_ray(
    matrix: Sequence[Config], time_limit: float, progress: Progress | None = None
) -> tuple[list[Row], list[Row]]:
    """`run_matrix(matrix, time_limit, progress=progress)` with a Ray task per model,
    batch and target (`matrix_groups`) on the cluster of the current `session`: the
    same rows, in the same order."""
    results: list[Result | None] = [None] * len(matrix)
    calls = [
        (_group_name(group[0][1]), (group, time_limit))
        for group in matrix_groups(matrix)
    ]
    for index, result in stream(iter_group, calls):
        results[index] = result
        if progress is not None:
            progress(matrix[index], result[0])
    return collect(results)
