"""`rillet.tracing`: Bytewax's names and signatures, on Python logging."""

import importlib.util
import logging

import pytest

import rillet.tracing as tracing

pytestmark = pytest.mark.skipif(
    tracing.__name__.startswith("bytewax"), reason="Rillet's tracing is not Bytewax's"
)

LOGGER = logging.getLogger("rillet")


@pytest.fixture(autouse=True)
def restore_logger():
    level, handlers = LOGGER.level, list(LOGGER.handlers)
    yield
    LOGGER.setLevel(level)
    LOGGER.handlers[:] = handlers


def test_default_is_error_to_stdout(capsys):
    tracer = tracing.setup_tracing()
    LOGGER.warning("hidden")
    LOGGER.error("shown")
    out = capsys.readouterr().out
    assert "shown" in out and "hidden" not in out
    tracer.shutdown()
    LOGGER.error("after shutdown")
    assert "after shutdown" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "name,level",
    [("ERROR", 40), ("WARN", 30), ("INFO", 20), ("DEBUG", 10), ("TRACE", 5), ("info", 20)],
)
def test_levels(name, level):
    tracer = tracing.setup_tracing(log_level=name)
    assert LOGGER.level == level
    tracer.shutdown()


def test_unknown_level_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'TRACE'"):
        tracing.setup_tracing(log_level="LOUD")


def test_setting_up_again_replaces_the_handler(capsys):
    first = tracing.setup_tracing(log_level="INFO")
    second = tracing.setup_tracing(log_level="INFO")
    LOGGER.info("once")
    assert capsys.readouterr().out.count("once") == 1
    first.shutdown()
    second.shutdown()


def test_not_a_config_is_a_type_error():
    with pytest.raises(TypeError, match="TracingConfig"):
        tracing.setup_tracing("jaeger")


def test_config_properties_like_bytewax():
    jaeger = tracing.JaegerConfig("svc")
    assert (jaeger.service_name, jaeger.endpoint, jaeger.sampling_ratio) == ("svc", None, 1.0)
    otlp = tracing.OtlpTracingConfig("svc", "grpc://h:1", 0.5)
    assert (otlp.service_name, otlp.url, otlp.sampling_ratio) == ("svc", "grpc://h:1", 0.5)
    assert tracing.OtlpTracingConfig("svc").url is None
    with pytest.raises(ValueError, match="between 0.0 and 1.0"):
        tracing.OtlpTracingConfig("svc", sampling_ratio=2.0)


@pytest.mark.skipif(
    importlib.util.find_spec("opentelemetry") is not None,
    reason="the OpenTelemetry SDK is installed",
)
@pytest.mark.parametrize(
    "config,package",
    [
        (tracing.OtlpTracingConfig("svc"), "opentelemetry-exporter-otlp-proto-grpc"),
        (tracing.JaegerConfig("svc"), "opentelemetry-exporter-jaeger-thrift"),
    ],
)
def test_exporters_say_what_to_install(config, package):
    with pytest.raises(ImportError, match=f"pip install opentelemetry-sdk {package}"):
        tracing.setup_tracing(config)
