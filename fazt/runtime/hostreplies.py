"""The parent's answer to a worker's host call: one C{reply} frame for every C{call} frame.

A worker's C{module.*} calls (its loader reading the deployment) are answered from the run's
L{CodeBundle} (L{fazt.runtime.host.module_call}); the others (KV, C{fetch}, sockets) by the
L{fazt.runtime.host.HostApi}. A call whose run is over gets an error reply: a sync caller blocks
its worker until it hears something (PROTOCOL.md).
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import fail
from twisted.logger import Logger

from fazt.runtime.host import HostCallError, module_call
from fazt.runtime.protocol import ProtocolError
from fazt.runtime.workerproc import Job, WorkerProcess

_log = Logger()


def answer_call(worker: WorkerProcess, message: dict, host: Any, awaiting_io: Callable[[Job], None],
                blocking: Callable[[Job], None] = lambda job: None) -> None:
    """Answer one host call of C{worker} (every call gets a reply: a sync caller waits for it).

    C{awaiting_io(job)} is told when a run sends C{host} an async call: the run now waits on I/O.
    """
    call_id = message.get("id")
    fn = str(message.get("fn"))
    args = message.get("args") if isinstance(message.get("args"), list) else []
    sync = message.get("sync") is True
    job = worker.find(message.get("run"))
    if sync:
        worker.sync_calls += 1
        worker.load.blocked = True
    if job is None:
        answer = fail(HostCallError("the request this call belongs to is over"))
    elif fn.startswith("module."):
        answer = module_call(job.code, fn, args)
    else:
        answer = host.call(job.site, fn, args, job.budget)
        if not sync:
            awaiting_io(job)
        elif not job.check:
            blocking(job)

    def reply(value: Any, ok: bool = True) -> None:
        if sync:
            worker.sync_calls -= 1
            worker.load.blocked = worker.sync_calls > 0
        frame = {"t": "reply", "id": call_id, "ok": True, "value": value} if ok else \
            {"t": "reply", "id": call_id, "ok": False, "error": str(value)}
        try:
            worker.send(frame)
        except ProtocolError as exc:  # e.g. a value over the frame limit
            worker.send({"t": "reply", "id": call_id, "ok": False, "error": str(exc)})

    answer.addCallbacks(reply, lambda f: reply(f.value, ok=False))
    answer.addErrback(lambda f: _log.failure("answering a JS host call", f))
