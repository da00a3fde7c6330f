"""Webhooks: where a pool's alerts are POSTed, and the thread that delivers
them.

The core builds each delivery (the body, the ``x-creditpool-signature``
HMAC-SHA256 header, the timestamp and idempotency key) and plays it as its
webhook call (``MessagesCall.webhook``: retries, timeouts, what delivers
it); this module queues alerts, runs that call through the shared driver on
a background thread and records what became of each.

A webhook URL is a secret too (a Slack incoming-webhook URL is authorized by
its path): only its origin (``scheme://host[:port]``) is ever shown, in a
``repr``, a ``WebhookResult``, a log record (the package's, and httpx2's
request log line, which a filter rewrites) or an error. The signing secret
is never shown.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import httpx2

from . import _creditpool
from ._config import Timeouts
from ._errors import typed_error
from ._transport import log

__all__ = ["Webhook", "WebhookResult", "WebhookDeliverer", "url_origin"]


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: never its path, query, fragment or
    user info (the core's rule)."""
    return _creditpool.url_origin(str(url))


class _Hidden:
    """A secret value whose ``repr`` and ``str`` never show it (so that
    ``vars(hook)``, a debugger or a traceback with locals does not either)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "****"

    __str__ = __repr__


class _RedactWebhookURLs(logging.Filter):
    """Rewrites httpx2's request log line (``HTTP Request: POST <url> ...``)
    so that a webhook's URL shows only its origin."""

    def __init__(self) -> None:
        super().__init__("")
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.urls and isinstance(record.args, tuple):
            args = list(record.args)
            changed = False
            for i, a in enumerate(args):
                s = str(a) if isinstance(a, (str, httpx2.URL)) else None
                if s is not None and any(s.startswith(u) for u in self.urls):
                    args[i] = url_origin(s) + "/****"
                    changed = True
            if changed:
                record.args = tuple(args)
        return True


_FILTER = _RedactWebhookURLs()
_FILTER_LOCK = threading.Lock()


def _register(url: str) -> None:
    with _FILTER_LOCK:
        if not _FILTER.urls:
            logging.getLogger("httpx2").addFilter(_FILTER)
        _FILTER.urls.add(url)
        _FILTER.urls.add(str(httpx2.URL(url)))


class Webhook:
    """Where alerts are POSTed, signed with ``secret`` (the core builds the
    body and the ``x-creditpool-signature`` HMAC-SHA256 header). Neither the
    secret nor the URL's path or query appears in a ``repr``, a log record, a
    ``WebhookResult`` or an error: only the URL's origin."""

    def __init__(
        self,
        url: str,
        secret: str | bytes,
        *,
        max_retries: int | None = None,
        timeout: float | None = None,
        retry_policy: Mapping[str, Any] | None = None,
    ) -> None:
        """A webhook endpoint (``http`` or ``https``). Each delivery is the
        core's webhook call (``MessagesCall.webhook``): failed deliveries
        (429, 5xx, connection errors, no answer in time) are retried by the
        core's retry policy, ``retry-after`` honoured. Options left unset take
        the core's webhook defaults (``default_webhook_options()``: 3
        retries, 10 s for an answer); ``retry_policy`` fields override the
        policy's. An empty ``secret`` (which would sign nothing anyone could
        trust) raises ``InvalidOptionsError``."""
        if not isinstance(secret, (str, bytes, bytearray)):
            raise typed_error(_creditpool.InvalidOptionsError, "invalid_options", f"Webhook secret: expected str or bytes, not {type(secret).__name__}", what="webhook secret")
        raw = secret.encode() if isinstance(secret, str) else bytes(secret)
        if not isinstance(url, str):
            raise typed_error(_creditpool.InvalidOptionsError, "invalid_options", f"Webhook url: expected str, not {type(url).__name__}", what="webhook url")
        # The core's rule: a non-empty secret, an http(s) URL with a host.
        origin = _creditpool.check_webhook_endpoint(url, raw)
        self._url = _Hidden(url)
        self._secret = _Hidden(raw)
        self.id: str = _creditpool.Outbox.webhook_id(url)
        """The webhook's name in a pool's delivery records (a digest of the
        URL; never the URL)."""
        self.origin: str = origin
        """``scheme://host[:port]`` of the endpoint: all that is ever shown."""
        defaults = _creditpool.default_webhook_options()
        self.timeout: float = timeout if timeout is not None else int(defaults["read_timeout_ms"]) / 1000
        """Seconds per attempt."""
        options: dict[str, Any] = {}
        policy = dict(retry_policy or {})
        if max_retries is not None:
            policy["max_retries"] = max_retries
        if policy:
            options["retry"] = policy
        if timeout is not None:
            options["read_timeout_ms"] = int(timeout * 1000)
        self._options = options
        _register(url)

    @property
    def url(self) -> str:
        """The endpoint's origin (``scheme://host[:port]``); the full URL is
        kept private, as its path may be the credential."""
        return self.origin

    def __repr__(self) -> str:
        """The URL's origin; never its path, query or the secret."""
        return f"Webhook({self.origin!r}, secret=****)"


@dataclass(frozen=True)
class WebhookResult:
    """What became of one webhook delivery."""

    url: str
    """The endpoint's origin (``scheme://host[:port]``), never its path."""
    idempotency_key: str
    """The alert's idempotency key."""
    delivered: bool
    """Whether the endpoint answered 2xx."""
    attempts: int
    """Attempts made."""
    status: int | None
    """The last HTTP status, if any."""
    error: str | None
    """Why the last attempt failed, if it did."""


_Done = Callable[[Webhook, str, bool], None]
_Item = tuple[Webhook, dict[str, Any], "_Done | None"] | None


class WebhookDeliverer:
    """Delivers alerts to webhooks from up to ``concurrency`` background
    threads (default the core's ``WEBHOOK_CONCURRENCY``, 4), started as
    alerts come, through ``http`` (made on first use when ``None``). A silent
    endpoint holds one thread (each attempt has its own timeout), never the
    others' deliveries."""

    def __init__(self, http: httpx2.Client | None, results: list[WebhookResult], sleep: Callable[[float], None] = time.sleep, concurrency: int | None = None) -> None:
        self._http = http
        self._owns_http = http is None
        self._queue: queue.Queue[_Item] = queue.Queue()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._results = results
        self._sleep = sleep
        self._concurrency = max(1, int(concurrency if concurrency is not None else _creditpool.WEBHOOK_CONCURRENCY))

    def enqueue(self, hook: Webhook, alert: dict[str, Any], on_done: _Done | None = None) -> None:
        """Queues one delivery; ``on_done(hook, key, delivered)`` is called
        when it ends (delivered, or given up by the core's retry rule), not
        when it is dropped unstarted by ``close``."""
        with self._lock:
            self._pending += 1
            if len(self._workers) < min(self._concurrency, self._pending):
                worker = threading.Thread(target=self._loop, name=f"creditpool-webhooks-{len(self._workers)}", daemon=True)
                self._workers.append(worker)
                worker.start()
        self._queue.put((hook, alert, on_done))

    def flush(self, timeout: float | None) -> bool:
        """Waits for every delivery queued so far; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Delivers what is queued (waiting at most ``timeout`` seconds),
        stops the threads, closes an HTTP client it made. False if
        deliveries were still under way at the deadline: they are left to
        their daemon threads (and their own timeouts)."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with self._lock:
            workers = list(self._workers)
            self._workers = []
        for _ in workers:
            self._queue.put(None)
        for w in workers:
            w.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        done = not any(w.is_alive() for w in workers)
        if done and self._owns_http and self._http is not None:
            self._http.close()
            self._http = None
        return done

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            hook, alert, on_done = item
            try:
                result = self.deliver(hook, alert)
                self._results.append(result)
                if on_done is not None:
                    on_done(hook, result.idempotency_key, result.delivered)
            except Exception as e:  # the delivery thread must survive anything
                log.error("webhook delivery to %s failed: %s", hook.origin, type(e).__name__)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def deliver(self, hook: Webhook, alert: dict[str, Any]) -> WebhookResult:
        """POSTs one alert: the core's webhook call (retries, timeouts, what
        delivers it), played by the same driver as the API's calls."""
        from ._driver import Endpoint, Sleep, Step, drive, play, take_output

        with self._lock:
            if self._http is None:
                self._http = httpx2.Client()
            http = self._http
        # The core signs every attempt afresh with that attempt's time.
        delivery = _creditpool.webhook_delivery(alert, hook._secret.value, int(time.time() * 1000))
        key = str((alert.get("payload") or {}).get("idempotency_key", ""))
        options = {**hook._options, "jitter_seed": secrets.randbits(53)}
        call = _creditpool.MessagesCall.webhook(delivery, options, hook._secret.value)
        t = hook.timeout
        endpoint = Endpoint(http, hook._url.value, Timeouts(connect=t, read=t, write=t, pool=t, stream_idle=t))

        def other(step: Step) -> Any:
            if isinstance(step, Sleep):
                self._sleep(step.seconds)
            return None

        for _ in drive(endpoint, play(call), other):
            pass
        try:
            out = take_output(call)
        except _creditpool.CreditpoolError as e:
            attempts = e.attempts or 1
            status = getattr(e, "status", None)
            reason = _redact(str(e), hook)
            log.warning("webhook %s to %s given up after %d attempts: %s (%s)", key, hook.origin, attempts, e.code, reason)
            return WebhookResult(hook.origin, key, False, attempts, status if isinstance(status, int) else None, f"{e.code}: {reason}")
        log.debug("webhook %s delivered to %s (attempt %d)", key, hook.origin, out["attempts"])
        return WebhookResult(hook.origin, key, True, int(out["attempts"]), int(out["delivered"]), None)


def _redact(text: str, hook: Webhook) -> str:
    """An error's text without the webhook's URL (shown as its origin) or secret."""
    text = text.replace(hook._url.value, hook.origin + "/****")
    try:
        secret = hook._secret.value.decode()
    except UnicodeDecodeError:
        return text
    return text.replace(secret, "****") if secret else text
