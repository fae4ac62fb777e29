"""The blocking ACME (RFC 8555) steps, on C{acme.client.ClientV2}; run them on the ACME thread pool.

Each function makes network calls and may sleep; none touches the reactor. L{fazt.acme.issuer}
schedules them and does the reactor-side work (the responder) in between.
"""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass
from typing import Optional, Union

import josepy as jose
from acme import challenges, client, crypto_util, errors, messages

from fazt.acme.pem import load_key

USER_AGENT = "fazt"
POLL_FIRST = 0.2
POLL_MAX = 2.0
HTTP_TIMEOUT = 20
ACCOUNT_GONE = "accountDoesNotExist"
BAD_NONCE = "badNonce"


class Stopped(Exception):
    """The order was abandoned because fazt is stopping."""


class ValidationFailed(Exception):
    """The ACME server could not validate a name (its reasons are in the message)."""


class NoHTTP01(Exception):
    """The ACME server offered no http-01 challenge for a name."""


@dataclass
class PendingChallenge:
    """One http-01 challenge to answer: the token's key authorization and the response to post."""

    challenge_body: messages.ChallengeBody
    response: challenges.ChallengeResponse
    validation: str

    @property
    def challenge(self):
        return self.challenge_body.chall


def connect(directory_url: str, key_pem: str, registration: Optional[str],
            verify: Union[bool, str] = True) -> client.ClientV2:
    """A ClientV2 on C{directory_url} signing with the account key C{key_pem}.

    C{verify} is True (the system's CAs) or the path of a CA bundle (a test CA such as Pebble's).
    """
    key = jose.JWKEC(key=load_key(key_pem))
    account = messages.RegistrationResource.json_loads(registration) if registration else None
    net = client.ClientNetwork(key, account=account, alg=jose.ES256, verify_ssl=verify, user_agent=USER_AGENT,
                               timeout=HTTP_TIMEOUT)
    directory = client.ClientV2.get_directory(directory_url, net)
    return client.ClientV2(directory, net)


def register(acme: client.ClientV2, email: Optional[str]) -> str:
    """Create an account (agreeing to the terms of service); its registration as JSON."""
    fields = {"terms_of_service_agreed": True}
    if email:
        fields["email"] = email
    return acme.new_account(messages.NewRegistration.from_data(**fields)).json_dumps()


def new_order(acme: client.ClientV2, name: str, key_pem: str) -> tuple[messages.OrderResource, list[PendingChallenge]]:
    """Order a certificate for C{name} with C{key_pem}; the http-01 challenges still to answer."""
    csr = crypto_util.make_csr(key_pem.encode("ascii"), [name])
    order = acme.new_order(csr)
    pending = []
    for authz in order.authorizations:
        if authz.body.status == messages.STATUS_VALID:
            continue
        body = next((c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01)), None)
        if body is None:
            raise NoHTTP01(f"the ACME server offered no http-01 challenge for {name}")
        response, validation = body.response_and_validation(acme.net.key)
        pending.append(PendingChallenge(body, response, validation))
    return order, pending


def answer(acme: client.ClientV2, pending: PendingChallenge) -> None:
    """Tell the ACME server the challenge is ready to be validated."""
    acme.answer_challenge(pending.challenge_body, pending.response)


def finalize(acme: client.ClientV2, order: messages.OrderResource, timeout: float,
             stopping: Optional[threading.Event] = None) -> str:
    """Wait for validation, finalize the order and return the full chain (leaf first), PEM.

    Setting C{stopping} (at shutdown) ends the wait for validation early with L{Stopped}.
    """
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=timeout)
    order = wait_for_validation(acme, order, deadline, stopping or threading.Event())
    return acme.finalize_order(order, deadline).fullchain_pem


def wait_for_validation(acme: client.ClientV2, order: messages.OrderResource,
                        deadline: datetime.datetime, stopping: threading.Event) -> messages.OrderResource:
    """Poll the order's authorizations until none is pending (0.2 s, doubling to 2 s, between polls).

    Raises L{ValidationFailed} naming what the server reported when one is not valid.
    """
    done = []
    for authzr in order.authorizations:
        delay = POLL_FIRST
        while True:
            authzr, _ = acme.poll(authzr)
            if authzr.body.status != messages.STATUS_PENDING:
                break
            if datetime.datetime.now() >= deadline:
                raise errors.TimeoutError("the ACME server did not validate in time")
            if stopping.wait(delay):
                raise Stopped("fazt is stopping")
            delay = min(delay * 2, POLL_MAX)
        done.append(authzr)
    problems = [
        f"{authzr.body.identifier.value}: {challenge.error.code or challenge.error.typ} :: {challenge.error.detail}"
        for authzr in done if authzr.body.status != messages.STATUS_VALID
        for challenge in authzr.body.challenges if challenge.error is not None
    ]
    invalid = [a for a in done if a.body.status != messages.STATUS_VALID]
    if invalid:
        raise ValidationFailed("validation failed: " + ("; ".join(problems) or "no reason given"))
    return order.update(authorizations=done)


def renewal_info(acme: client.ClientV2, cert_pem: str) -> tuple[Optional[float], float]:
    """ARI: when the CA suggests renewing C{cert_pem} (None if it offers no renewalInfo), and when
    to ask again; both as Unix times. C{(None, None)} when the CA offers no renewalInfo."""
    if not offers_ari(acme):
        return None, None
    renew_at, ask_again = acme.renewal_time(cert_pem.encode("ascii"))
    return (renew_at.timestamp() if renew_at is not None else None), ask_again.timestamp()


def offers_ari(acme: client.ClientV2) -> bool:
    """Whether the directory has a renewalInfo resource."""
    try:
        acme.directory["renewalInfo"]
    except KeyError:
        return False
    return True


def account_gone(error: BaseException) -> bool:
    """Whether C{error} says the stored account no longer exists on the server."""
    return isinstance(error, messages.Error) and error.code == ACCOUNT_GONE


def bad_nonce(error: BaseException) -> bool:
    """Whether C{error} is the server refusing a request's anti-replay nonce.

    RFC 8555 §6.5 makes it the client's to retry; the acme library retries a request once, and a
    second refusal (servers refuse some on purpose, Pebble 5 %) surfaces here.
    """
    return isinstance(error, messages.Error) and error.code == BAD_NONCE
