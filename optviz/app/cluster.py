"""Where the pieces of a big job run: in this process, or on a dask.distributed cluster.

Every job that splits (a basin map's and a sweep's grid chunks, each tuned
optimizer's grid, the seeds of many runs, a batch's configs) is a list of tasks,
each a pure function of its arguments. An executor maps such a function over
the tasks and hands back each result with its task's index, as tasks finish:

    with executor("tcp://scheduler:8786") as ex:   # None: no executor, run here
        for i, value in ex.map(basins_chunk, [(config, r, k, index) for ...]):
            ...

The analysis functions take ``executor=None`` (then they loop in this process,
exactly as before) and place each result by its index, so the bytes written
are the same wherever the tasks ran. Workers only compute: every file is
written here, by the client, through :func:`optviz.outputs.output_folder`'s
staging, so a worker that dies (dask runs its tasks again elsewhere) leaves
no partial output. Ctrl-C, or any error, cancels the tasks still on the
cluster.

dask is an optional extra (``pip install "optviz[dask]"``), imported only
when a scheduler is given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from optviz.errors import ConfigError, OptvizError

#: the environment variable the CLI reads when --scheduler is not given
SCHEDULER_ENV = "OPTVIZ_SCHEDULER"
#: seconds to wait for the scheduler to answer, then for a first worker
CONNECT_TIMEOUT = 5.0
WORKER_TIMEOUT = 20.0
INSTALL_HINT = 'pip install "optviz[dask]"'


def _where() -> str:
    return f"--scheduler (or {SCHEDULER_ENV})"


class ClusterError(OptvizError):
    """The cluster could not finish a job: a task killed every worker it was
    given to, or the scheduler went away. Nothing was written."""


def _lost(e: BaseException, client) -> ClusterError:
    from distributed import KilledWorker

    if isinstance(e, KilledWorker):
        return ClusterError("a task of this job ended the worker running it each of the "
                            "times the scheduler tried it (dask's KilledWorker: out of "
                            "memory on the workers?); nothing was written. See the "
                            "workers' logs, or run without --scheduler to see the error")
    return ClusterError(f"the dask scheduler at {client.scheduler.address} went away "
                        f"mid-job ({type(e).__name__}); nothing was written")


class DaskExecutor:
    """The tasks as futures of a dask.distributed Client, yielded as they finish.

    A task whose worker dies is run again on another worker by the scheduler
    (dask's ``allowed-failures``); an error in a task, Ctrl-C or closing the
    iterator early cancels every task of the map still on the cluster.
    """

    def __init__(self, client):
        self.client = client

    @property
    def address(self) -> str:
        return self.client.scheduler.address

    def map(self, fn: Callable, tasks: Sequence[tuple], *,
            keep_going: bool = False) -> Iterator[tuple[int, Any]]:
        """(index, fn(*task)) for each task as it finishes. A task the cluster lost
        raises a ClusterError, or, with *keep_going*, comes back as one (a batch's
        other configs go on)."""
        from concurrent.futures import CancelledError

        from distributed import KilledWorker, as_completed
        from distributed.comm.core import CommClosedError

        from optviz.core.optim.torch_adapter import ALLOWED_IMPORTS

        allowed = tuple(sorted(ALLOWED_IMPORTS))  # --allow-import travels with each task
        futures = [self.client.submit(_task, allowed, fn, *args, pure=False) for args in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in as_completed(futures, loop=self.client.loop):
                try:
                    value = future.result()
                except (KilledWorker, CancelledError, CommClosedError) as e:
                    if not keep_going:
                        raise _lost(e, self.client) from None
                    value = _lost(e, self.client)
                yield index[future.key], value
                future.release()
        except BaseException:  # an error, Ctrl-C, or the caller stopped early
            with contextlib.suppress(Exception):
                self.client.cancel(futures, force=True)
            raise


def _task(allowed: tuple[str, ...], fn: Callable, *args):
    """A task on a worker: this process's --allow-import permissions, then fn(*args)."""
    if allowed:
        from optviz.core.optim.torch_adapter import allow_import

        allow_import(*allowed)
    return fn(*args)


def _client_class(distributed):
    """distributed.Client, but one whose failed start (nobody at the address, a bad
    address) stops its IO loop thread at once. distributed leaves that thread to the
    garbage collector (``Client.__del__``), which may run while another Client's loop
    starts, holding the lock the stop needs: a deadlock (seen in tests/cluster), or a
    thread left running in a library user's process."""

    class Client(distributed.Client):
        def start(self, **kwargs):
            try:
                super().start(**kwargs)
            except BaseException:
                with contextlib.suppress(Exception):
                    self.close()  # returns early when the failed start marked it closed
                    self._loop_runner.stop()  # no public API; stopping twice is a no-op
                raise

    return Client


def connect(address: str):
    """A DaskExecutor on the scheduler at *address*; a clean ConfigError (exit 2
    in the CLI) when dask is missing, the address is wrong or nobody answers
    within :data:`CONNECT_TIMEOUT` seconds, or no worker joins within
    :data:`WORKER_TIMEOUT`."""
    try:
        import distributed
    except ImportError:
        raise ConfigError("running on a cluster needs dask.distributed, which is not "
                          "installed", key=_where(), hint=INSTALL_HINT) from None
    import logging

    # dask logs (and retries) a failed connection at length; the error below says it once
    quiet = [logging.getLogger(name) for name in ("distributed", "distributed.client",
                                                  "distributed.comm.core",
                                                  "distributed.core")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.CRITICAL)
    try:
        client = _client_class(distributed)(address, timeout=f"{CONNECT_TIMEOUT}s",
                                            set_as_default=False)
    except Exception as e:  # ValueError (bad address), OSError / TimeoutError (nobody there)
        reason = " ".join(str(e).split()) or type(e).__name__
        raise ConfigError(f"cannot reach a dask scheduler at {address!r}: {reason}",
                          key=_where(), hint="give the address 'dask scheduler' prints, "
                          "e.g. tcp://10.0.0.5:8786, or unset it to run here") from None
    finally:
        for log, level in zip(quiet, levels):
            log.setLevel(level)
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
    except Exception:
        with contextlib.suppress(Exception):
            client.close()
        raise ConfigError(f"the dask scheduler at {address!r} has no workers (none joined "
                          f"within {WORKER_TIMEOUT:g} s)", key=_where(),
                          hint="start some with 'dask worker ADDRESS --nthreads 1'") from None
    return DaskExecutor(client)


@contextlib.contextmanager
def executor(address: str | None) -> Iterator[DaskExecutor | None]:
    """A DaskExecutor on *address* for the ``with`` block (closed after it), or None
    (run here) when no address is given."""
    if not address:
        yield None
        return
    ex = connect(address)
    try:
        yield ex
    finally:
        with contextlib.suppress(Exception):
            ex.client.close()

