"""``instrument()`` and ``shutdown()``: execute a plan, keep what it set up, stop it in time.

The lifecycle state of the process is one :class:`Lifecycle` object (the setup in force, the
global provider llmops made, the lock). The heavy modules (OpenTelemetry SDK, exporters,
platform code) are imported inside ``instrument()``, never when ``llmops`` is imported.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

TYPE_CHECKING = False  # keeps typing out of `import llmops`
if TYPE_CHECKING:
    from collections.abc import Sequence

    from opentelemetry.sdk.trace import TracerProvider

    from ._instrumentors import Applied
    from ._plan import Plan
    from ._platform import Platform
    from ._processors import ProviderSlot
    from ._provider import Contribution, Setup

__all__ = ["Lifecycle", "current", "instrument", "reset_for_tests", "shutdown"]


class Lifecycle:
    """The process's tracing state: at most one setup in force.

    ``owned_global`` is the provider llmops made the global one: kept alive so that a later
    setup can reuse it (OpenTelemetry allows setting the global provider once per process).
    """

    def __init__(self) -> None:
        import weakref

        self.lock = threading.RLock()
        self.active: Setup | None = None
        self.owned_global: TracerProvider | None = None
        self.slots: weakref.WeakKeyDictionary[TracerProvider, ProviderSlot] = (
            weakref.WeakKeyDictionary()
        )
        """llmops' one processor on each provider it has set up (added once, kept)."""
        self.closing_in: int | None = None
        """The thread running :meth:`close`, while it does."""
        self.terminate_after_close = False
        """SIGTERM arrived during :meth:`close` in the same thread: die once it is done."""
        self.hinted: set[str] = set()
        """Catalogue entries whose missing instrumentor was pointed out (once a process)."""
        self._atexit_registered = False

    def slot_for(self, provider: TracerProvider) -> ProviderSlot:
        """llmops' processor on ``provider``, added the first time."""
        from ._processors import ProviderSlot

        slot = self.slots.get(provider)
        if slot is None:
            # The application's provider.shutdown() reaches the slot: it stops llmops' setup
            # the bounded, counted way, as llmops.shutdown() does.
            slot = self.slots[provider] = ProviderSlot()
            slot.closer = lambda: self._close_routed_by(slot)
            provider.add_span_processor(slot)
        return slot

    def _close_routed_by(self, slot: ProviderSlot) -> None:
        """Stop the set-up in force if it routes through ``slot``: a provider's shutdown()
        is about that provider's set-up, never about a later one on another provider."""
        with self.lock:
            if self.active is not None and self.active.slot is slot:
                self.close()

    def instrument(self, plan: Plan) -> TracerProvider:
        """Execute ``plan``; the same plan again returns the provider in force."""
        with self.lock:
            if self.active is not None and self.active.key == plan.key():
                return self.active.provider
            # Every platform sets up before the previous setup is touched: a platform that
            # fails leaves the application traced as before.
            contributions = _contributions(plan)
            if self.active is not None:
                self.close()
            self.active = self._build(plan, contributions)
            if not self._atexit_registered:
                atexit.register(shutdown)
                self._atexit_registered = True
            return self.active.provider

    def _build(self, plan: Plan, contributions: list[Contribution]) -> Setup:
        import logging

        from . import _stats
        from ._enrichment import ContextAttributesProcessor
        from ._instrumentors import apply_instrumentors
        from ._provider import build

        # Imported with the set-up, not first at exit: a SIGTERM handler that flushes could
        # otherwise run while the exit flush is half-way through importing it.
        from ._shutdown import close

        settings = plan.settings
        baselines = {
            name: _stats.stats().by_platform.get(name) or _stats.SpanStats()
            for name in plan.platforms
        }
        setup = build(
            plan,
            contributions,
            reuse=self.owned_global,
            baselines=baselines,
            slot_for=self.slot_for,
        )
        if setup.owns_provider and settings.tracing.set_global and self.owned_global is None:
            from opentelemetry import trace

            if trace.get_tracer_provider() is setup.provider:
                self.owned_global = setup.provider
        enricher = ContextAttributesProcessor(
            metadata=settings.enrichment.metadata, tags=settings.enrichment.tags
        )
        enricher.activate()
        setup.enricher = enricher
        enricher.route(setup.slot, [p.processor for p in setup.pipelines])
        try:
            setup.applied = apply_instrumentors(
                settings.instrumentation,
                setup.provider,
                where=plan.where,
                trace_config=settings.tracing.trace_config(),
                hinted=self.hinted,
            )
        except BaseException:
            close(setup, keep_provider=setup.provider is self.owned_global)
            raise
        line = _announcement(contributions, setup.applied)
        logging.getLogger("llmops").info("%s", line)
        if settings.tracing.announce:
            import contextlib

            # A closed or broken stderr is not a failed set-up.
            with contextlib.suppress(OSError, ValueError):
                print(line, file=sys.stderr, flush=True)
        return setup

    def close(self) -> None:
        """Stop the setup in force, if any (bounded, never raises).

        Holds the lock throughout, so that a second caller (a SIGTERM handler, another
        thread) waits for the flush in progress instead of finding nothing to do.
        """
        from ._shutdown import close

        with self.lock:
            active, self.active = self.active, None
            if active is None:
                return
            self.closing_in = threading.get_ident()
            try:
                close(active, keep_provider=active.provider is self.owned_global)
            except Exception as exc:  # pragma: no cover - close() is already defensive
                import logging

                logging.getLogger("llmops").warning("llmops: shutdown failed: %s", exc)
            finally:
                self.closing_in = None
                if self.terminate_after_close:
                    import signal

                    os.kill(os.getpid(), signal.SIGTERM)

    def after_fork_in_child(self) -> None:
        """In a child made by ``os.fork()``: fresh locks, counts from zero; and when the child
        is a ``multiprocessing`` process (which ends with ``os._exit``, skipping ``atexit``),
        flush at its exit through multiprocessing's own finalizers."""
        self.lock = threading.RLock()
        self.closing_in, self.terminate_after_close = None, False
        if self.active is None:
            return
        from . import _stats

        self.active.baselines = dict.fromkeys(self.active.platforms, _stats.SpanStats())
        util = sys.modules.get("multiprocessing.util")
        if util is not None:
            # Runs in the child's bootstrap, after it clears the finalizers it inherited.
            util.register_after_fork(_FORK_TOKEN, _flush_at_process_exit)

    def reset(self) -> None:
        """Shut down and forget the global provider, as in a fresh process (tests)."""
        from opentelemetry import trace
        from opentelemetry.util._once import Once

        from . import _stats

        self.close()
        for slot in list(self.slots.values()):
            slot.vacate(())
        _stats.reset()
        self.owned_global = None
        trace._TRACER_PROVIDER_SET_ONCE = Once()
        trace._TRACER_PROVIDER = None


def _announcement(contributions: Sequence[Contribution], applied: Sequence[Applied]) -> str:
    """The one line ``instrument()`` writes: where traces go, what is instrumented."""
    where = "; ".join(c.setup.description or c.name for c in contributions)
    now = [a.key for a in applied if a.instrumentor is not None]
    later = [a.key for a in applied if a.instrumentor is None and not a.hint]
    parts = []
    if now:
        parts.append(", ".join(now))
    if later:
        parts.append(f"{', '.join(later)} when imported")
    what = f"instrumenting {'; '.join(parts)}" if parts else "no library instrumented"
    return f"llmops: tracing to {where}; {what}"


def _contributions(plan: Plan) -> list[Contribution]:
    """Each platform's setup, in order; on a failure the ones made are discarded first."""
    from ._provider import contribute
    from ._shutdown import run_all_bounded

    made: list[Contribution] = []
    try:
        for target in plan.targets:
            made.append(contribute(target, plan.settings))
    except BaseException:
        exporters = [e for c in made for e in c.setup.exporters]
        run_all_bounded([(e.shutdown, "discarding an exporter") for e in exporters], 1.0)
        raise
    return made


_default = Lifecycle()


def instrument(
    platform: Platform | str | Sequence[Platform | str] | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
) -> TracerProvider:
    """Set up tracing to ``platform`` (or several) and return the OpenTelemetry
    ``TracerProvider``.

    >>> import llmops
    >>> from llmops import Platform
    >>> provider = llmops.instrument(Platform.ARIZE, config_path="llmops.yaml")  # doctest: +SKIP

    ``platform`` is a :class:`Platform` member or a registered name (``"arize"``, ``"acme"``),
    or a list of them: ``instrument([Platform.ARIZE, Platform.MLFLOW])`` sends every span to
    each, through one provider, the instrumentors applied once, each platform with its own
    export queue so that one being down delays nothing for the others. Without it the
    config's ``platforms:`` (a list) or ``platform:`` is used.

    ``config_path`` is a YAML or TOML file
    (the suffix decides); without it llmops reads ``$LLMOPS_CONFIG``, then ``./llmops.yaml``,
    ``./llmops.yml``, ``./llmops.toml``, ``[tool.llmops]`` in ``./pyproject.toml``, else the
    defaults.

    It resolves the same plan as :func:`llmops.plan` (and ``llmops check``) and executes it.
    Calling it again with the same plan returns the same provider and instruments nothing
    twice; with anything different, the previous setup is shut down (flushed,
    uninstrumented) first. If the application already set a global SDK ``TracerProvider``,
    the platform's exporter is added to that provider, which is returned.

    Raises :class:`ConfigurationError` for an invalid config, :class:`UnknownPlatformError`
    for an unknown platform name.
    """
    from ._plan import make_plan

    with _default.lock:
        return _default.instrument(make_plan(platform, config_path))


def shutdown() -> None:
    """Flush and stop what :func:`instrument` set up, within ``tracing.shutdown_timeout_s``.

    Uninstruments the instrumentors llmops applied. Safe to call more than once, and called
    at interpreter exit; it never raises and never waits longer than the configured timeout,
    even when the collector is unreachable.
    """
    _default.close()


def current() -> Setup | None:
    """The setup in force, or ``None`` (for tests; not public API)."""
    return _default.active


def reset_for_tests() -> None:
    """What :func:`llmops.testing.reset` does."""
    _default.reset()


class _ForkToken:
    """What ``multiprocessing.util.register_after_fork`` holds (it keeps weak references)."""


_FORK_TOKEN = _ForkToken()


def _flush_at_process_exit(_token: object) -> None:
    import multiprocessing.util

    multiprocessing.util.Finalize(None, shutdown, exitpriority=100)
    _flush_on_sigterm()


def _flush_on_sigterm() -> None:
    """In a ``multiprocessing`` child: flush before SIGTERM ends it.

    ``with multiprocessing.Pool() as pool:`` leaves by ``terminate()``, which sends SIGTERM
    to the workers and waits for them; by default they die at once and the spans they ended
    are lost. With this handler a worker flushes (bounded by ``tracing.shutdown_timeout_s``)
    and then dies of the same signal, so its exit status is what it would have been. A
    handler the application installed is left alone.
    """
    import signal

    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def flush_then_terminate(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if _default.closing_in == threading.get_ident():
            # The signal interrupted this thread's own flush (a worker ending normally as
            # the pool terminates): let it finish, then die.
            _default.terminate_after_close = True
            return
        # On this thread: starting a thread from a signal handler can deadlock on the
        # threading module's own locks, which the interrupted code may hold.
        shutdown()  # waits for a flush another thread is running
        os.kill(os.getpid(), signal.SIGTERM)

    try:
        signal.signal(signal.SIGTERM, flush_then_terminate)
    except ValueError:  # not the main thread of the main interpreter
        return


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _default.after_fork_in_child())
