"""Run chunks of model runs serially, in local processes, or on a Dask cluster.

A *task* is ``(model, runs)`` where ``runs`` is a list of ``(run_id, params, seed)``.
:func:`run_chunk` evaluates one task and returns ``[(run_id, outputs), ...]``. Every
run depends only on its params and seed, so results are bit-identical whichever
executor or worker count evaluates them; only the completion order differs.

Executors are chosen with :func:`get_executor`:

* ``"serial"``: in this process.
* ``"processes"`` (default): a ``ProcessPoolExecutor`` over all local cores (or
  ``workers``), ``spawn`` start method so it is safe beside Dask's threads.
* a ``dask.distributed.Client``: tasks submitted with ``pure=False`` (Dask would
  otherwise deduplicate identical stochastic calls). Start local clusters with
  :func:`local_cluster`, which keeps glibc's dynamic malloc thresholds in the
  workers (see its docstring).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from analysis.errors import AnalysisError

log = logging.getLogger(__name__)

Model = Callable[[dict[str, Any], int], Mapping[str, float]]
Run = tuple[int, dict[str, Any], int]
Task = tuple[Model, list[Run]]
Result = list[tuple[int, dict[str, float]]]


def run_chunk(model: Model, runs: Sequence[Run]) -> Result:
    """Evaluate a chunk of runs; outputs are converted to plain floats.

    Args:
        model: ``model(params, seed) -> {name: float}``.
        runs: ``(run_id, params, seed)`` triples.

    Returns:
        ``[(run_id, {output: float})]`` in the order given.
    """
    out: Result = []
    for run_id, params, seed in runs:
        result = model(dict(params), int(seed))
        out.append((int(run_id), {str(k): float(v) for k, v in result.items()}))
    return out


class Executor(Protocol):
    """Evaluates tasks and yields results as they complete."""

    workers: int

    def imap_unordered(self, tasks: Sequence[Task]) -> Iterator[Result]:
        """Yield the result of each task as it completes."""
        ...

    def close(self) -> None:
        """Release workers."""
        ...


class SerialExecutor:
    """Runs every task in this process, in order."""

    workers = 1

    def imap_unordered(self, tasks: Sequence[Task]) -> Iterator[Result]:
        """Yield the result of each task in order."""
        for model, runs in tasks:
            yield run_chunk(model, runs)

    def close(self) -> None:
        """Nothing to release."""


@contextmanager
def _worker_environment() -> Iterator[None]:
    """Environment for spawned local workers: one BLAS thread, glibc malloc defaults.

    The same policy as Dask's nanny for its workers (one thread per numeric library, so
    n processes on n cores do not oversubscribe them) except ``MALLOC_TRIM_THRESHOLD_``,
    which is left unset (see ``_dask_environment``). Variables the user set are kept.
    """
    wanted = dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1")
    saved = {k: os.environ.get(k) for k in wanted}
    for key, value in wanted.items():
        os.environ.setdefault(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class ProcessExecutor:
    """A pool of local worker processes (``spawn``, one BLAS thread each).

    Args:
        workers: Number of processes; ``None`` means every local core.
    """

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise AnalysisError(f"executor: workers must be >= 1, got {workers}")
        self.workers = workers or os.cpu_count() or 1
        self._pool: cf.ProcessPoolExecutor | None = None

    def imap_unordered(self, tasks: Sequence[Task]) -> Iterator[Result]:
        """Submit every task and yield results as they complete."""
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        # workers are spawned on demand by submit(), so they inherit this environment
        with _worker_environment():
            futures = [self._pool.submit(run_chunk, model, runs) for model, runs in tasks]
        try:
            for fut in cf.as_completed(futures):
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        """Shut the pool down, cancelling queued tasks."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """Submits tasks to a ``dask.distributed.Client`` with ``pure=False``.

    Args:
        client: A connected client; it is not closed by :meth:`close`.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.workers = max(1, sum(client.nthreads().values()))
        _check_worker_malloc(client)

    def imap_unordered(self, tasks: Sequence[Task]) -> Iterator[Result]:
        """Submit every task (``pure=False``) and yield results as they complete."""
        from distributed import as_completed  # noqa: PLC0415 - dask is optional at import

        futures = [self.client.submit(run_chunk, model, runs, pure=False) for model, runs in tasks]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        """The client belongs to the caller; nothing to release."""


def get_executor(executor: str | Any = "processes", workers: int | None = None) -> Executor:
    """Resolve an executor spec.

    Args:
        executor: ``"serial"``, ``"processes"``, a ``dask.distributed.Client`` or an
            object already implementing :class:`Executor`.
        workers: Process count for ``"processes"``.

    Returns:
        An executor.

    Raises:
        AnalysisError: Unknown executor spec.
    """
    if executor == "serial":
        return SerialExecutor()
    if executor == "processes":
        return ProcessExecutor(workers)
    if hasattr(executor, "submit") and hasattr(executor, "nthreads"):
        return DaskExecutor(executor)
    if hasattr(executor, "imap_unordered"):
        return executor
    raise AnalysisError(
        f"executor: {executor!r} is unknown; allowed: 'serial', 'processes' or a "
        "dask.distributed.Client"
    )


MAX_CHUNK = 500


def check_chunk_size(size: int | None) -> None:
    """Refuse a task size other than ``None`` (the default sizes) or an integer >= 1.

    Raises:
        AnalysisError: ``size`` is 0, negative or not an integer.
    """
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise AnalysisError(f"chunk_size: must be an integer >= 1 (runs per task), got {size!r}")


def chunked(runs: Sequence[Run], size: int | None = None, *, workers: int = 1) -> list[list[Run]]:
    """Split runs into consecutive tasks.

    With ``size``, every task has ``size`` runs (the last fewer). By default tasks shrink
    as the work runs out (guided self-scheduling, Polychronopoulos & Kuck 1987): each takes
    a quarter of one worker's share of the runs not yet assigned, at most ``MAX_CHUNK`` and
    at least a 64th of one worker's share of all runs (or ``MAX_CHUNK // 16`` if smaller).
    Large early tasks keep per-task overhead small; small last tasks let the workers
    finish together instead of one waiting for the other's last big task (runs at
    different design points differ in cost several-fold). Each completed task is one
    part file of a sweep's store.

    Args:
        runs: The runs, in order.
        size: Fixed runs per task, or ``None`` for decreasing sizes.
        workers: Workers sharing the tasks (for the default sizes).

    Returns:
        The tasks' runs, in the original order.

    Raises:
        AnalysisError: ``size`` is not ``None`` or an integer >= 1.
    """
    check_chunk_size(size)
    if size is not None:
        return [list(runs[i : i + size]) for i in range(0, len(runs), size)]
    workers = max(1, workers)
    smallest = max(1, min(MAX_CHUNK // 16, -(-len(runs) // (64 * workers))))
    chunks, start = [], 0
    while start < len(runs):
        left = len(runs) - start
        take = min(left, MAX_CHUNK, max(smallest, -(-left // (4 * workers))))
        chunks.append(list(runs[start : start + take]))
        start += take
    return chunks


# -- Dask workers and glibc malloc --------------------------------------------------------

_MALLOC_KEY = "MALLOC_TRIM_THRESHOLD_"


@contextmanager
def _dask_environment() -> Iterator[None]:
    """Spawn Dask workers with glibc's default (dynamic) malloc thresholds.

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in new workers. Setting that
    variable at all switches off glibc's dynamic mmap threshold, so every array above
    128 KiB is mmap'd and page-faulted afresh: a NumPy loop allocating 1.6 MB arrays
    ran 4.0x slower here (1.26 s unset vs 4.97 s at 65536 or at 128 MiB; the notes §6
    measured 7x on a NumPy-heavy model). We unset it (``None`` removes it from the
    nanny's ``pre-spawn-environ``) and undo the nanny's leak of these variables into
    this process, so later process pools are not slowed either.
    """
    import dask  # noqa: PLC0415 - dask is optional at import

    keys = list(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    saved = {k: os.environ.get(k) for k in [*keys, _MALLOC_KEY]}
    os.environ.pop(_MALLOC_KEY, None)
    try:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{_MALLOC_KEY}": None}):
            yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def local_cluster(n_workers: int = 2, threads_per_worker: int = 1, **kwargs: Any) -> Any:
    """Start a local Dask cluster of worker processes and return a connected client.

    Workers keep glibc's dynamic malloc thresholds (see ``_dask_environment``), do not
    profile their tasks and check their event loop once a second. Close
    the returned client and its cluster with ``client.close(); client.cluster.close()``
    or use :func:`dask_client` as a context manager.

    Args:
        n_workers: Worker processes.
        threads_per_worker: Threads per worker (1: the model is pure Python).
        **kwargs: Passed to ``distributed.LocalCluster``.

    Returns:
        A ``distributed.Client``.
    """
    import dask  # noqa: PLC0415 - optional at import
    from distributed import Client, LocalCluster  # noqa: PLC0415 - optional at import

    # Both wake a worker's event-loop thread many times a second, and each wake takes the
    # GIL from the running model: the statistical profiler (every 10 ms, for a dashboard
    # nobody looks at in a sweep) and the tick that watches for a blocked loop (every 20 ms;
    # at 1 s a 1200 x 2 run LHS took 22.0-22.4 s instead of 23.2-24.3 s, benchmarks/sweep.py).
    quiet = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s"}
    with _dask_environment(), dask.config.set(quiet):
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=kwargs.pop("dashboard_address", None),
            **kwargs,
        )
    return Client(cluster)


@contextmanager
def dask_client(
    address: str | None = None, n_workers: int = 2, **kwargs: Any
) -> Iterator[Any]:
    """A Dask client for the duration of a ``with`` block.

    Args:
        address: Scheduler address of an existing cluster; ``None`` starts a local one
            with :func:`local_cluster`.
        n_workers: Local workers when ``address`` is ``None``.
        **kwargs: Passed to :func:`local_cluster`.

    Yields:
        A connected ``distributed.Client``.
    """
    from distributed import Client  # noqa: PLC0415 - optional at import

    if address is not None:
        try:
            client = Client(address, timeout="10s")
        except OSError as exc:
            raise AnalysisError(f"--scheduler {address}: cannot connect ({exc})") from None
        try:
            yield client
        finally:
            client.close()
        return
    client = local_cluster(n_workers, **kwargs)
    try:
        yield client
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


def _check_worker_malloc(client: Any) -> None:
    """Log a warning if workers run with an explicit ``MALLOC_TRIM_THRESHOLD_``."""
    try:
        envs = client.run(os.environ.get, _MALLOC_KEY)
    except Exception:
        return
    slowed = sorted(w for w, v in envs.items() if v is not None)
    if slowed:
        log.warning(
            "%d Dask worker(s) run with %s set, which disables glibc's dynamic mmap "
            "threshold and can slow NumPy-heavy models several-fold; start workers with "
            "analysis.executors.local_cluster or unset it in distributed.nanny.pre-spawn-environ",
            len(slowed),
            _MALLOC_KEY,
        )
