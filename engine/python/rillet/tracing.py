"""Logging and tracing setup.

Rillet logs through Python's `logging`, under the `"rillet"` logger.
`setup_tracing` sends those logs to standard output at a chosen level
and, with an `OtlpTracingConfig` or `JaegerConfig`, installs an
OpenTelemetry tracer provider (from the `opentelemetry` packages,
which are optional) that exports traces.

>>> from rillet.tracing import setup_tracing
>>> tracer = setup_tracing(log_level="INFO")
>>> import logging
>>> logging.getLogger("rillet").getEffectiveLevel() == logging.INFO
True
>>> tracer.shutdown()

Keep a reference to the returned object for as long as tracing should
stay set up.
"""

import logging
import sys
from typing import Any, Optional

__all__ = [
    "TracingConfig",
    "JaegerConfig",
    "OtlpTracingConfig",
    "setup_tracing",
]

_LOGGER_NAME = "rillet"
_DEFAULT_OTLP_URL = "grpc://127.0.0.1:4317"
TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_LEVELS = {
    "ERROR": logging.ERROR,
    "WARN": logging.WARNING,
    "INFO": logging.INFO,
    "DEBUG": logging.DEBUG,
    "TRACE": TRACE,
}


class TracingConfig:
    """Where traces go. The base class sends only logs, to stdout.

    Use `OtlpTracingConfig` (recommended) or `JaegerConfig` to also
    export traces.

    >>> from rillet.tracing import TracingConfig, setup_tracing
    >>> tracer = setup_tracing(TracingConfig(), log_level="WARN")
    >>> tracer.shutdown()
    """

    def __init__(self) -> None:
        """Create the default configuration (logs only)."""


class JaegerConfig(TracingConfig):
    """Export traces to a Jaeger agent.

    Needs `pip install opentelemetry-sdk
    opentelemetry-exporter-jaeger-thrift`. Without `endpoint`, the
    agent address comes from the `OTEL_EXPORTER_JAEGER_AGENT_HOST` and
    `OTEL_EXPORTER_JAEGER_AGENT_PORT` environment variables, else
    `127.0.0.1:6831`.

    >>> from rillet.tracing import JaegerConfig
    >>> JaegerConfig("my_flow", sampling_ratio=0.1).sampling_ratio
    0.1

    :arg service_name: Names this dataflow in Jaeger.

    :arg endpoint: Agent address as `"host:port"`; overrides the
        environment variables.

    :arg sampling_ratio: Fraction of traces to keep, from `0.0` to
        `1.0`. Defaults to `1.0`.
    """

    def __init__(
        self,
        service_name: str,
        endpoint: Optional[str] = None,
        sampling_ratio: float = 1.0,
    ) -> None:
        """Set up the configuration; see the class docstring."""
        _check_ratio(sampling_ratio)
        self._service_name = service_name
        self._endpoint = endpoint
        self._sampling_ratio = sampling_ratio

    @property
    def service_name(self) -> str:
        """Name of this dataflow in Jaeger."""
        return self._service_name

    @property
    def endpoint(self) -> Optional[str]:
        """Agent address as `"host:port"`, if set."""
        return self._endpoint

    @property
    def sampling_ratio(self) -> float:
        """Fraction of traces kept."""
        return self._sampling_ratio


class OtlpTracingConfig(TracingConfig):
    """Export traces to an OpenTelemetry collector over OTLP/gRPC.

    The most flexible option: the collector can forward traces
    anywhere. Needs `pip install opentelemetry-sdk
    opentelemetry-exporter-otlp-proto-grpc`; enable the gRPC receiver
    in the collector.

    >>> from rillet.tracing import OtlpTracingConfig
    >>> OtlpTracingConfig("my_flow", url="grpc://collector:4317").url
    'grpc://collector:4317'

    :arg service_name: Names this dataflow in the traces.

    :arg url: Collector address. Defaults to
        `"grpc://127.0.0.1:4317"`.

    :arg sampling_ratio: Fraction of traces to keep, from `0.0` to
        `1.0`. Defaults to `1.0`.
    """

    def __init__(
        self,
        service_name: str,
        url: Optional[str] = None,
        sampling_ratio: float = 1.0,
    ) -> None:
        """Set up the configuration; see the class docstring."""
        _check_ratio(sampling_ratio)
        self._service_name = service_name
        self._url = url
        self._sampling_ratio = sampling_ratio

    @property
    def service_name(self) -> str:
        """Name of this dataflow in the traces."""
        return self._service_name

    @property
    def url(self) -> Optional[str]:
        """Collector address, if set (else the default is used)."""
        return self._url

    @property
    def sampling_ratio(self) -> float:
        """Fraction of traces kept."""
        return self._sampling_ratio


def _check_ratio(ratio: float) -> None:
    if not 0.0 <= ratio <= 1.0:
        msg = f"sampling_ratio must be between 0.0 and 1.0; got {ratio!r}"
        raise ValueError(msg)


class _Tracer:
    """Handle on the installed logging handler and tracer provider."""

    def __init__(self, handler: logging.Handler, provider: Any) -> None:
        self._handler = handler
        self._provider = provider

    def shutdown(self) -> None:
        """Flush pending traces and remove the log handler."""
        logging.getLogger(_LOGGER_NAME).removeHandler(self._handler)
        if self._provider is not None:
            self._provider.shutdown()
            self._provider = None


def _import_otel(exporter_pkg: str):
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
    except ImportError as ex:
        msg = (
            "exporting traces needs the OpenTelemetry SDK; run "
            f"`pip install opentelemetry-sdk {exporter_pkg}`"
        )
        raise ImportError(msg) from ex
    return trace, Resource, TracerProvider, BatchSpanProcessor, TraceIdRatioBased


def _otlp_exporter(config: OtlpTracingConfig) -> Any:
    pkg = "opentelemetry-exporter-otlp-proto-grpc"
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter,
        )
    except ImportError as ex:
        msg = f"`OtlpTracingConfig` needs the OTLP exporter; run `pip install {pkg}`"
        raise ImportError(msg) from ex
    # The gRPC exporter wants `http(s)://host:port`; accept Bytewax's
    # `grpc://` spelling too.
    url = config.url if config.url is not None else _DEFAULT_OTLP_URL
    for scheme in ("grpc://", "grpc:://"):
        if url.startswith(scheme):
            url = "http://" + url[len(scheme) :]
    return OTLPSpanExporter(endpoint=url, insecure=url.startswith("http://"))


def _jaeger_exporter(config: JaegerConfig) -> Any:
    pkg = "opentelemetry-exporter-jaeger-thrift"
    try:
        from opentelemetry.exporter.jaeger.thrift import JaegerExporter
    except ImportError as ex:
        msg = f"`JaegerConfig` needs the Jaeger exporter; run `pip install {pkg}`"
        raise ImportError(msg) from ex
    if config.endpoint is None:
        return JaegerExporter()
    host, _, port = config.endpoint.rpartition(":")
    return JaegerExporter(agent_host_name=host, agent_port=int(port))


def _install_provider(config: TracingConfig) -> Any:
    if isinstance(config, OtlpTracingConfig):
        pkg = "opentelemetry-exporter-otlp-proto-grpc"
    elif isinstance(config, JaegerConfig):
        pkg = "opentelemetry-exporter-jaeger-thrift"
    else:
        return None
    trace, Resource, TracerProvider, BatchSpanProcessor, Sampler = _import_otel(pkg)
    if isinstance(config, OtlpTracingConfig):
        exporter = _otlp_exporter(config)
    else:
        exporter = _jaeger_exporter(config)
    provider = TracerProvider(
        resource=Resource.create({"service.name": config.service_name}),
        sampler=Sampler(config.sampling_ratio),
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def setup_tracing(
    tracing_config: Optional[TracingConfig] = None, log_level: Optional[str] = None
) -> _Tracer:
    """Set up Rillet's logging and, optionally, trace export.

    Logs of the `"rillet"` logger at `log_level` or above go to
    standard output. Calling this again replaces the previous setup's
    log handler.

    >>> from rillet.tracing import setup_tracing
    >>> tracer = setup_tracing(log_level="DEBUG")
    >>> tracer.shutdown()

    :arg tracing_config: Where to export traces; `None` or a plain
        `TracingConfig` only logs.

    :arg log_level: One of `"ERROR"`, `"WARN"`, `"INFO"`, `"DEBUG"`,
        `"TRACE"`. Defaults to `"ERROR"`.

    :returns: A handle; keep it while tracing should stay active, and
        call its `shutdown()` to flush and stop.
    """
    level_name = "ERROR" if log_level is None else log_level.upper()
    if level_name not in _LEVELS:
        msg = f"unknown log level {log_level!r}; use one of {list(_LEVELS)!r}"
        raise ValueError(msg)
    if tracing_config is not None and not isinstance(tracing_config, TracingConfig):
        msg = (
            f"tracing_config must be a `TracingConfig`; got a "
            f"{type(tracing_config)!r}; use `OtlpTracingConfig(...)` or "
            "`JaegerConfig(...)`"
        )
        raise TypeError(msg)

    provider = _install_provider(tracing_config) if tracing_config else None

    logger = logging.getLogger(_LOGGER_NAME)
    for old in [h for h in logger.handlers if getattr(h, "_rillet_tracing", False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler._rillet_tracing = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(_LEVELS[level_name])
    return _Tracer(handler, provider)
