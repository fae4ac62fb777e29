"""Issuing one certificate by HTTP-01: blocking ACME steps on the ACME pool, responder on the reactor.

The account key and registration live in the cartridge (C{acme_account}, per directory URL), so a
copied data.db keeps its account. An account the server has forgotten is registered again once.
"""

from __future__ import annotations

import threading
from typing import Optional, Union

from twisted.internet.defer import DeferredLock, inlineCallbacks, maybeDeferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from fazt.acme import client as acme_client
from fazt.acme.interfaces import IResponder
from fazt.acme.pem import new_key_pem
from fazt.store.certificates import load_account, save_account

_log = Logger()
FINALIZE_TIMEOUT = 90.0
NONCE_ATTEMPTS = 3


class AcmeIssuer:
    """C{issue(name)} fires with C{(fullchain_pem, key_pem)}; C{renewal_info(cert_pem)} asks ARI."""

    def __init__(self, reactor: IReactorTime, pool: ThreadPool, store, responder: IResponder, directory_url: str,
                 email: Optional[str] = None, verify: Union[bool, str] = True) -> None:
        self._reactor = reactor
        self._pool = pool
        self._store = store
        self._responder = responder
        self.directory_url = directory_url
        self._email = email
        self._verify = verify
        self._account: Optional[tuple[str, str]] = None
        self._account_lock = DeferredLock()
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Abandon orders waiting for validation, so that the ACME pool can stop promptly."""
        self._stopping.set()

    def _thread(self, fn, *args):
        return deferToThreadPool(self._reactor, self._pool, fn, *args)

    @inlineCallbacks
    def _ensure_account(self, forget: bool = False):
        """The account (key PEM, registration JSON): from the cartridge, or registered now."""
        yield self._account_lock.acquire()
        try:
            if forget:
                self._account = None
            if self._account is None and not forget:
                self._account = yield self._store.read(load_account, self.directory_url)
            if self._account is None:
                key_pem = yield self._thread(new_key_pem)
                acme = yield self._thread(acme_client.connect, self.directory_url, key_pem, None, self._verify)
                registration = yield self._thread(acme_client.register, acme, self._email)
                yield self._store.write(save_account, self.directory_url, key_pem, registration, self._reactor.seconds())
                _log.info("Registered an ACME account with {directory}", directory=self.directory_url)
                self._account = (key_pem, registration)
            return self._account
        finally:
            self._account_lock.release()

    @inlineCallbacks
    def _client(self):
        key_pem, registration = yield self._ensure_account()
        acme = yield self._thread(acme_client.connect, self.directory_url, key_pem, registration, self._verify)
        return acme

    @inlineCallbacks
    def issue(self, name: str):
        """Order, validate and download a certificate for C{name} with a new key.

        A refused nonce is retried at once with a new order (up to L{NONCE_ATTEMPTS} in all),
        not left to the back-off of a failed issuance.
        """
        for attempt in range(1, NONCE_ATTEMPTS + 1):
            try:
                result = yield self._issue_once(name)
                return result
            except Exception as error:
                if not acme_client.bad_nonce(error) or attempt == NONCE_ATTEMPTS:
                    raise
                _log.info("The ACME server refused a nonce while ordering {name}; ordering again", name=name)

    @inlineCallbacks
    def _issue_once(self, name: str):
        try:
            result = yield self._issue(name)
        except Exception as error:
            if not acme_client.account_gone(error):
                raise
            _log.warn("The ACME server no longer knows fazt's account; registering again")
            yield self._ensure_account(forget=True)
            result = yield self._issue(name)
        return result

    @inlineCallbacks
    def _issue(self, name: str):
        acme = yield self._client()
        key_pem = yield self._thread(new_key_pem)
        order, pending = yield self._thread(acme_client.new_order, acme, name, key_pem)
        started = []
        try:
            for challenge in pending:
                # Fires once every process can answer (the answer is in the store; fazt.acme.responder).
                yield maybeDeferred(self._responder.start_responding, name, challenge.challenge,
                                    challenge.validation)
                started.append(challenge)
                yield self._thread(acme_client.answer, acme, challenge)
            fullchain = yield self._thread(acme_client.finalize, acme, order, FINALIZE_TIMEOUT, self._stopping)
        finally:
            for challenge in started:
                self._responder.stop_responding(name, challenge.challenge, challenge.validation)
        return fullchain, key_pem

    @inlineCallbacks
    def renewal_info(self, cert_pem: str):
        """ARI: C{(renew_at or None, ask_again_at)} as Unix times; None first if the CA has no ARI."""
        acme = yield self._client()
        result = yield self._thread(acme_client.renewal_info, acme, cert_pem)
        return result
