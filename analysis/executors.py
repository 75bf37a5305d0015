"""Fan model runs out to this process, local worker processes or a Dask cluster.

An executor is a context manager with one fan-out, :meth:`Executor.map_runs` (the evaluator
pattern of EMA Workbench: the caller hands over the runs and a callback, the executor owns the
workers)::

    with get_executor("processes", workers=2) as runner:
        runner.map_runs([(model, runs)], store_them, progress=True, desc="sweep")

``runs`` are ``(run_id, params, seed)`` triples with seeds from :mod:`analysis.seeds`; the
callback receives each completed chunk as a list of :class:`RunResult` (run id, seed, outputs),
in completion order. Every run depends only on its params and seed, so results are
bit-identical whichever executor or worker count evaluates them; only the completion order
differs.

Executors, chosen with :func:`get_executor`:

* ``"serial"``: in this process.
* ``"processes"`` (default): a ``ProcessPoolExecutor`` over all local cores (or ``workers``),
  ``spawn`` start method so it is safe beside Dask's threads. Workers ignore Ctrl-C (the parent
  decides), end by themselves when the parent process is gone (kill -9, SIGTERM), and stop
  between runs when the parent is interrupted, handing back the runs they finished.
* a ``dask.distributed.Client``: tasks submitted with ``pure=False`` (Dask would otherwise
  deduplicate identical stochastic calls). Start local clusters with :func:`local_cluster`,
  which keeps glibc's dynamic malloc thresholds in the workers (see its docstring).

On Ctrl-C, :meth:`Executor.map_runs` stops the workers within seconds, hands every finished run
to the callback, and re-raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from analysis.errors import AnalysisError

log = logging.getLogger(__name__)

Model = Callable[[dict[str, Any], int], Mapping[str, float]]
Run = tuple[int, dict[str, Any], int]
Task = tuple[Model, list[Run]]


class RunResult(NamedTuple):
    """One evaluated run: its id, the seed it ran with, and its outputs as floats."""

    run_id: int
    seed: int
    outputs: dict[str, float]


Callback = Callable[[list[RunResult]], None]
Group = tuple[Model, Sequence[Run]]

# Set in worker processes: the parent's request to stop between runs.
_STOP: Any = None
# Seconds a worker waits between checks that its parent is alive.
_WATCH_EVERY = 0.5
# Seconds the parent waits, after an interrupt, for workers to finish their current run.
_STOP_GRACE = 15.0


def evaluate_chunk(model: Model, runs: Sequence[Run], into: list[RunResult] | None = None
                   ) -> list[RunResult]:
    """Evaluate a chunk of runs in order, stopping early if the parent asks.

    Args:
        model: ``model(params, seed) -> {name: float}``.
        runs: ``(run_id, params, seed)`` triples.
        into: A list to append each result to as it completes (kept if a run is interrupted).

    Returns:
        The results, in the order given (fewer than ``runs`` if asked to stop).
    """
    out = [] if into is None else into
    for run_id, params, seed in runs:
        if _STOP is not None and _STOP.is_set():
            break
        result = model(dict(params), int(seed))
        out.append(RunResult(int(run_id), int(seed),
                             {str(k): float(v) for k, v in result.items()}))
    return out


def _progress_wanted(progress: bool | None) -> bool:
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


def progress_bar(total: int, *, desc: str, progress: bool | None = None, unit: str = "run",
                 initial: int = 0) -> Any:
    """The engine's progress bar: tqdm on standard error with the rate and the time left.

    Every long piece of work shows its progress this way (:meth:`Executor.map_runs` does).

    Args:
        total: Units of work in all (``initial`` included).
        desc: The bar's label.
        progress: Show it; ``None``: when standard error is a terminal.
        unit: What is counted (``"run"``, ``"month"``).
        initial: Units done before.

    Returns:
        A ``tqdm`` bar (disabled if not shown); close it, or use it as a context manager.
    """
    from tqdm import tqdm  # noqa: PLC0415 - workers never draw bars

    return tqdm(total=total, initial=initial, unit=unit, disable=not _progress_wanted(progress),
                desc=desc, smoothing=0.05, dynamic_ncols=True)


class Executor:
    """Evaluates runs, in chunks, and hands results to a callback as they complete.

    Subclasses provide ``_submit``, ``_completed``, ``_result`` and ``_stop``. Use an executor
    as a context manager (or call :meth:`close`).
    """

    workers: int = 1

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release workers."""

    # -- the fan-out ----------------------------------------------------------------------

    def map_runs(
        self,
        groups: Iterable[Group],
        callback: Callback,
        *,
        chunk_size: int | None = None,
        progress: bool | None = None,
        desc: str = "runs",
        initial: int = 0,
    ) -> int:
        """Evaluate every run of every ``(model, runs)`` group; call ``callback`` per chunk.

        Runs are split into chunks per group (:func:`chunked`), so a chunk never mixes
        models. On Ctrl-C the workers stop between runs, every finished run is handed to
        ``callback``, and ``KeyboardInterrupt`` is raised again.

        Args:
            groups: ``(model, runs)`` pairs; ``runs`` are ``(run_id, params, seed)``.
            callback: Called with each completed chunk's :class:`RunResult` list, in this
                process, in completion order.
            chunk_size: Runs per chunk (default: shrinking chunks).
            progress: Show a progress bar with time left (``None``: if stderr is a terminal).
            desc: The bar's label.
            initial: Runs done before (shown in the bar's count and total).

        Returns:
            The number of runs handed to ``callback``.
        """
        tasks = [(model, chunk) for model, runs in groups
                 for chunk in chunked(list(runs), chunk_size, workers=self.workers)]
        total = initial + sum(len(runs) for _, runs in tasks)
        show = _progress_wanted(progress)
        bar = progress_bar(total, desc=desc, progress=show, initial=initial)
        handed = 0

        def hand(results: list[RunResult]) -> None:
            nonlocal handed
            if results:
                callback(results)
                handed += len(results)
                bar.update(len(results))

        handles: list[Any] = []
        finished: set[int] = set()
        try:
            if show and tasks:
                starting = self._starting()
                if starting:
                    bar.write(starting, file=sys.stderr)
            self._submit(tasks, handles)
            for index in self._completed(handles):
                hand(self._result(handles[index]))
                finished.add(index)  # after the callback: an interrupted one is handed again
        except KeyboardInterrupt:
            for results in self._stop(handles, set(range(len(handles))) - finished):
                hand(results)
            raise
        except BaseException:
            self._stop(handles, set(range(len(handles))) - finished, keep=False)
            raise
        finally:
            bar.close()
        return handed

    # -- what a backend provides ------------------------------------------------------------

    def _starting(self) -> str | None:
        """A line to show while workers start, or ``None`` if they are up."""
        return None

    def _submit(self, tasks: list[Task], handles: list[Any]) -> None:
        """Start ``tasks``, appending one handle per task to ``handles`` as it goes."""
        raise NotImplementedError

    def _completed(self, handles: list[Any]) -> Iterator[int]:
        raise NotImplementedError

    def _result(self, handle: Any) -> list[RunResult]:
        raise NotImplementedError

    def _stop(self, handles: list[Any], pending: set[int], keep: bool = True
              ) -> list[list[RunResult]]:
        """Stop unfinished work; return what finished meanwhile (if ``keep``)."""
        raise NotImplementedError


class SerialExecutor(Executor):
    """Runs every task in this process, in order."""

    workers = 1

    def __init__(self) -> None:
        self._partial: list[RunResult] = []

    def _submit(self, tasks: list[Task], handles: list[Any]) -> None:
        handles.extend(tasks)

    def _completed(self, handles: list[Any]) -> Iterator[int]:
        yield from range(len(handles))

    def _result(self, handle: Any) -> list[RunResult]:
        self._partial = []
        model, runs = handle
        return evaluate_chunk(model, runs, into=self._partial)

    def _stop(self, handles: list[Any], pending: set[int], keep: bool = True
              ) -> list[list[RunResult]]:
        partial, self._partial = self._partial, []
        return [partial] if keep and partial else []


@contextmanager
def _worker_environment() -> Iterator[None]:
    """Environment for spawned local workers: one BLAS thread, glibc malloc defaults, no SIGINT.

    The same policy as Dask's nanny for its workers (one thread per numeric library, so
    n processes on n cores do not oversubscribe them) except ``MALLOC_TRIM_THRESHOLD_``,
    which is left unset (see ``_dask_environment``). Variables the user set are kept.
    Workers are started with Ctrl-C blocked (a signal mask survives fork and exec), so a
    Ctrl-C while they import prints no tracebacks; the parent stops them. In this process a
    Ctrl-C meanwhile is held back and raised when the block ends: an interrupted hand-over to a
    starting worker would leave it reading half a message (and printing a traceback), and an
    ignored Ctrl-C would be lost.
    """
    wanted = dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1")
    saved = {k: os.environ.get(k) for k in wanted}
    for key, value in wanted.items():
        os.environ.setdefault(key, value)
    try:
        with _held_interrupts():
            yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _held_interrupts() -> Iterator[None]:
    """Block SIGINT (inherited by new processes) and hold back a Ctrl-C here until the end."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(
        signal.SIGINT
    ) is None:  # not ours to change: a handler installed outside Python
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
    mask = getattr(signal, "pthread_sigmask", None)
    blocked = mask(signal.SIG_BLOCK, {signal.SIGINT}) if mask else None
    try:
        yield
    finally:
        if mask:
            mask(signal.SIG_SETMASK, blocked)
        signal.signal(signal.SIGINT, previous)
        if caught:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt


def _init_worker(stop: Any, parent: int) -> None:
    """In each worker: ignore Ctrl-C, know the stop flag, end when the parent is gone."""
    global _STOP  # noqa: PLW0603 - one flag per worker process
    _STOP = stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="watch-parent").start()


def _watch_parent(parent: int) -> None:
    """End this worker once its parent has ended (kill -9 or SIGTERM leave it orphaned)."""
    while os.getppid() == parent:
        time.sleep(_WATCH_EVERY)
    os._exit(1)


class ProcessExecutor(Executor):
    """A pool of local worker processes (``spawn``, one BLAS thread each).

    Args:
        workers: Number of processes; ``None`` means every local core.
    """

    def __init__(self, workers: int | None = None) -> None:
        check_workers(workers)
        self.workers = workers or os.cpu_count() or 1
        self._pool: cf.ProcessPoolExecutor | None = None
        self._stop_flag: Any = None

    def _starting(self) -> str | None:
        if self._pool is not None:
            return None
        return f"starting {self.workers} worker process{'es' if self.workers > 1 else ''}…"

    def _submit(self, tasks: list[Task], handles: list[Any]) -> None:
        context = multiprocessing.get_context("spawn")
        if self._pool is None:
            self._stop_flag = context.Event()
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=context, initializer=_init_worker,
                initargs=(self._stop_flag, os.getpid()),
            )
        self._stop_flag.clear()
        # workers are spawned on demand by submit(), so they inherit this environment
        with _worker_environment():
            for model, runs in tasks:
                handles.append(self._pool.submit(evaluate_chunk, model, runs))

    def _completed(self, handles: list[Any]) -> Iterator[int]:
        index = {id(f): i for i, f in enumerate(handles)}
        for fut in cf.as_completed(handles):
            yield index[id(fut)]

    def _result(self, handle: Any) -> list[RunResult]:
        return handle.result()

    def _stop(self, handles: list[Any], pending: set[int], keep: bool = True
              ) -> list[list[RunResult]]:
        if self._stop_flag is not None:
            self._stop_flag.set()
        waiting = [handles[i] for i in sorted(pending) if not handles[i].cancel()]
        done, late = cf.wait(waiting, timeout=_STOP_GRACE)
        if late:
            self._kill()
        if not keep:
            return []
        return [f.result() for f in done if not f.cancelled() and f.exception() is None]

    def _kill(self) -> None:
        """End every worker now (they did not stop between runs in time)."""
        if self._pool is None:
            return
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None

    def close(self) -> None:
        """Shut the pool down, cancelling queued tasks."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """Submits tasks to a ``dask.distributed.Client`` with ``pure=False``.

    Args:
        client: A connected client; it is not closed by :meth:`close`.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.workers = max(1, sum(client.nthreads().values()))
        _check_worker_malloc(client)

    def _submit(self, tasks: list[Task], handles: list[Any]) -> None:
        for model, runs in tasks:
            handles.append(self.client.submit(evaluate_chunk, model, runs, pure=False))

    def _completed(self, handles: list[Any]) -> Iterator[int]:
        from distributed import as_completed  # noqa: PLC0415 - dask is optional at import

        index = {f.key: i for i, f in enumerate(handles)}
        for fut in as_completed(handles):
            yield index[fut.key]

    def _result(self, handle: Any) -> list[RunResult]:
        return [RunResult(*r) for r in handle.result()]

    def _stop(self, handles: list[Any], pending: set[int], keep: bool = True
              ) -> list[list[RunResult]]:
        waiting = [handles[i] for i in sorted(pending)]
        finished = [f for f in waiting if f.status == "finished"] if keep else []
        self.client.cancel([f for f in waiting if f.status != "finished"])
        return [self._result(f) for f in finished]


def get_executor(executor: str | Any = "processes", workers: int | None = None) -> Executor:
    """Resolve an executor spec.

    Args:
        executor: ``"serial"``, ``"processes"``, a ``dask.distributed.Client`` or an
            :class:`Executor`.
        workers: Process count for ``"processes"``.

    Returns:
        An executor (a context manager; it closes what it started).

    Raises:
        AnalysisError: Unknown executor spec.
    """
    if isinstance(executor, Executor):
        return executor
    if executor == "serial":
        return SerialExecutor()
    if executor == "processes":
        return ProcessExecutor(workers)
    if hasattr(executor, "submit") and hasattr(executor, "nthreads"):
        return DaskExecutor(executor)
    raise AnalysisError(
        f"executor: {executor!r} is unknown; allowed: 'serial', 'processes' or a "
        "dask.distributed.Client"
    )


@contextmanager
def executor_for(executor: str | Any = "processes", workers: int | None = None
                 ) -> Iterator[Executor]:
    """:func:`get_executor` for a ``with`` block: closes the executor if it started it here.

    An :class:`Executor` passed in belongs to the caller and is left open.
    """
    runner = get_executor(executor, workers)
    try:
        yield runner
    finally:
        if runner is not executor:
            runner.close()


MAX_CHUNK = 500


def check_workers(workers: int | None) -> None:
    """Refuse a worker count other than ``None`` (every core) or an integer >= 1.

    Raises:
        AnalysisError: ``workers`` is 0, negative or not an integer.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise AnalysisError(f"workers: must be an integer >= 1 (worker processes), got "
                            f"{workers!r}")


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
    ran 4.0x slower here (1.26 s unset vs 4.97 s at 65536 or at 128 MiB; an earlier
    measurement on these machines found 7x on a NumPy-heavy model). We unset it (``None``
    removes it from the nanny's ``pre-spawn-environ``) and undo the nanny's leak of these
    variables into this process, so later process pools are not slowed either.
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
