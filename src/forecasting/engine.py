"""Where many independent tasks run: in this process (``engine="local"``) or on a Dask cluster.

``engine="dask"`` sends the tasks to a ``dask.distributed`` cluster: the scheduler at
``scheduler`` (an address such as ``tcp://10.0.0.5:8786``, or a ``distributed.Client``
you already hold), or else a ``LocalCluster`` of :data:`DEFAULT_WORKERS` single-threaded
worker processes started for the call and closed after it. Dask is imported only
here and only for that engine, so the local engine and ``forecasting --help`` never
load it.

The tasks must be module-level functions of ``forecasting`` (workers import them
by name; install the same version of ``forecasting`` on every worker).
"""

from __future__ import annotations

import contextlib
import warnings
from collections import deque
from collections.abc import Iterable, Iterator


__all__ = ["ENGINES", "DEFAULT_WORKERS", "check_engine", "dask_client", "map_ordered", "map_batched",
           "call_recording_warnings", "run_tasks"]

ENGINES = ("local", "dask")
DEFAULT_WORKERS = 2
# BLAS / OpenMP pools of one thread per worker process: each worker already is one of the cores.
_WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _engine_error(message: str):
    # Imported here: the CLI parser reads ENGINES, and forecasting.data would pull in pandas.
    from .data.errors import DataError, Problem

    return DataError(Problem("engine", None, message))


def check_engine(engine: str, scheduler=None) -> str:
    """Return ``engine`` if it is one of :data:`ENGINES`; DataError otherwise.

    A ``scheduler`` only makes sense with ``engine="dask"``.
    """
    if engine not in ENGINES:
        raise _engine_error(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if scheduler is not None and engine != "dask":
        raise _engine_error(f"a scheduler ({scheduler}) is only used with engine 'dask', not {engine!r}")
    return engine


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def dask_client(scheduler=None, n_workers: int = DEFAULT_WORKERS):
    """Yield a ``distributed.Client``; close what was opened here on exit.

    Parameters
    ----------
    scheduler : str or distributed.Client, optional
        Address of a running scheduler, or a client to reuse (left open). Default:
        start a ``LocalCluster`` of ``n_workers`` processes with one thread each.
        Connecting waits at most ``distributed.comm.timeouts.connect`` (dask config).
    n_workers : int, default 2
        Worker processes of the local cluster.

    Raises
    ------
    DataError
        Dask is not installed, or the scheduler cannot be reached.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise _engine_error("engine 'dask' needs dask.distributed: pip install 'forecasting[dask]'") from None
    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler:
        try:
            client = Client(scheduler)
        except (OSError, ValueError, TypeError) as exc:
            raise _engine_error(f"cannot reach the Dask scheduler at {scheduler}: {_first_line(exc)}") from None
        with client:
            yield client
        return
    import logging

    import dask

    # Measured on our tasks: the workers' low malloc trim threshold (memory handed back sooner) makes
    # scoring pandas chunks ~2x slower, and their statistical profiler (a stack sample every 10 ms)
    # costs ~25 % CPU on short fits. Keep glibc's default and no profiler.
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                          "distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR, env=_WORKER_ENV)
    with cluster, Client(cluster) as client:
        yield client


def map_ordered(client, fn, tasks: Iterable[tuple], *, window: int | None = None, **kwargs) -> Iterator:
    """Yield ``fn(*task, **kwargs)`` for every task, run on the cluster, in task order.

    At most ``window`` tasks are in flight (default: four per worker thread), so a
    long stream of large results never piles up on the client. A DataError raised by a
    task is raised here (as it would be locally); pending tasks are then cancelled, as
    when the caller stops early.
    """
    if window is None:
        window = 4 * max(1, sum(client.nthreads().values()))
    pending: deque = deque()
    try:
        for task in tasks:
            # pure=False: no hashing of the arguments, and equal tasks still run (in order).
            pending.append(client.submit(_data_errors_returned, fn, *task, pure=False, **kwargs))
            if len(pending) >= window:
                yield _raised(pending.popleft().result())
        while pending:
            yield _raised(pending.popleft().result())
    finally:
        if pending:
            client.cancel(list(pending))


def map_batched(client, fn, tasks: list[tuple], batches_per_thread: int = 8) -> Iterator:
    """Yield ``fn(*task)`` for every task, in task order, run on the cluster in batches.

    Many small tasks (a series' fit takes tens of milliseconds) are sent as about
    ``batches_per_thread`` batches per worker thread: with one Dask task each, scheduling
    and messages cost about as much as the fits; several batches per thread still let a
    thread that finishes early take the next one.
    """
    threads = max(1, sum(client.nthreads().values()))
    size = max(1, -(-len(tasks) // (batches_per_thread * threads)))
    batches = [(fn, tasks[i:i + size]) for i in range(0, len(tasks), size)]
    for results in map_ordered(client, _run_batch, batches, window=len(batches)):
        yield from results


def _run_batch(fn, tasks: list[tuple]) -> list:
    return [fn(*task) for task in tasks]


def _data_errors_returned(fn, *args, **kwargs):
    """Return bad input as a value: the caller reports it, and workers log no "Compute Failed"."""
    from .data.errors import DataError

    try:
        return fn(*args, **kwargs), None
    except DataError as err:
        return None, err


def _raised(outcome):
    result, error = outcome
    if error is not None:
        raise error
    return result


def call_recording_warnings(fn, *args, **kwargs):
    """Run ``fn`` and return ``(result, warning messages)``.

    Worker processes do not pass warnings back to the parent, so every task
    records its own and the parent re-issues them, the same on every engine.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def _outputs(fn, tasks: list[tuple], n_jobs: int, client):
    """``(result, warning messages)`` of every task, in task order, from the chosen engine."""
    if client is not None:
        return map_batched(client, call_recording_warnings, [(fn, *t) for t in tasks])
    if n_jobs == 1 or len(tasks) <= 1:
        return (call_recording_warnings(fn, *t) for t in tasks)
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs, return_as="generator")(delayed(call_recording_warnings)(fn, *t) for t in tasks)


def run_tasks(fn, tasks: list[tuple], *, n_jobs: int = 1, desc: str = "", progress: bool | None = None,
              engine: str = "local", scheduler=None) -> list:
    """Run ``fn(*task)`` for every task: here, in joblib worker processes, or on a Dask cluster.

    Parameters
    ----------
    fn : callable
        A module-level function (worker processes import it by name).
    tasks : list of tuple
        Arguments of each call.
    n_jobs : int, default 1
        joblib worker processes for the local engine (-1: every core).
    desc : str
        Label of the progress bar.
    progress : bool, optional
        Force the tqdm bar on or off (default: on when stderr is a terminal).
    engine : {"local", "dask"}, default "local"
        ``"dask"`` runs the tasks on a ``dask.distributed`` cluster (``n_jobs`` is then unused).
    scheduler : str or distributed.Client, optional
        Scheduler address for ``engine="dask"``; default: a local cluster of 2 worker
        processes, started for this call (see :func:`dask_client`).

    Returns
    -------
    list
        The results, in task order. User warnings raised inside tasks are re-issued here as
        :class:`~forecasting.data.validate.DataWarning`, in task order, whatever the engine.

    Examples
    --------
    >>> run_tasks(divmod, [(7, 2), (9, 4)], progress=False)
    [(3, 1), (2, 1)]
    """
    # Imported here: the CLI parser reads ENGINES, and these pull in pandas.
    from .data.validate import DataWarning
    from .progress import progress as bar

    check_engine(engine, scheduler)
    with (dask_client(scheduler) if engine == "dask" else contextlib.nullcontext()) as client, \
            contextlib.closing(_outputs(fn, tasks, n_jobs, client)) as outputs:
        results = []
        for result, messages in bar(outputs, total=len(tasks), desc=desc, enabled=progress):
            for message in messages:
                warnings.warn(message, DataWarning, stacklevel=3)
            results.append(result)
    return results
