"""Backends by prefix (built-in and plugins through the `agent.models` entry-point group) and declared
capabilities."""

import sys
from pathlib import Path

import pytest

from agent.errors import ModelNotFoundError, UsageError
from agent.models import ChatModel, ScriptedModel, check_model, load_model
from agent.models.registry import backend_for, backends
from agent.prompting.meter import Meter

PLUGIN = '''
from agent.models import ScriptedModel

def load(name, options):
    return ScriptedModel(default=f"{name} via {options.base_url}", name=f"echo:{name}")
'''


def write_plugin(root: Path, dist: str, module: str, source: str, target: str, prefix: str) -> None:
    (root / f"{module}.py").write_text(source)
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[agent.models]\n{prefix} = {module}:{target}\n")


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    def install(source: str, target: str, prefix: str = "echo") -> None:
        write_plugin(tmp_path, "echo_backend", "echo_backend", source, target, prefix)
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.delitem(sys.modules, "echo_backend", raising=False)

    return install


def test_a_plugin_backend_loads_by_its_prefix(plugin):
    plugin(PLUGIN, "load")
    assert "echo" in backends() and "openai" in backends()
    model = load_model("echo:tiny", base_url="http://x")
    assert model.name == "echo:tiny" and model.generate([{"role": "user", "content": "q"}]).text == "tiny via http://x"
    check_model("echo:tiny")  # a plugin without a check passes the usage checks


def test_without_the_plugin_the_prefix_is_just_an_unknown_model():
    assert backend_for("echo:tiny") is None
    with pytest.raises(ModelNotFoundError, match="unknown model 'echo:tiny'"):
        check_model("echo:tiny")


def test_a_plugin_never_replaces_a_builtin(plugin):
    plugin(PLUGIN, "load", prefix="openai")
    with pytest.raises(UsageError, match="needs --base-url"):
        load_model("openai:gpt")  # still the built-in, with its own check


@pytest.mark.parametrize("source, target, message", [
    ("raise ImportError('missing dependency')\n", "load", "failed to load: missing dependency"),
    ("load = 42\n", "load", "is not a Backend or a loader"),
])
def test_a_broken_model_plugin_is_a_usage_error(plugin, source, target, message):
    plugin(source, target)
    with pytest.raises(UsageError, match=message):
        load_model("echo:tiny")


def test_a_path_with_a_colon_is_not_a_prefix(tmp_path):
    assert backend_for(f"{tmp_path}/a:b") is None and backend_for("openai:") is not None


def test_capabilities_default_off_and_backends_declare_theirs():
    from agent.models.llamacpp import LlamaCppModel
    from agent.models.local import LocalModel
    from agent.models.openai_http import OpenAIModel
    from agent.models.ortgenai import OrtGenAIModel

    plain = ScriptedModel()
    assert isinstance(plain, ChatModel)
    assert not (plain.supports_schema or plain.supports_batch or plain.supports_prefix_reuse or plain.supports_adapters)
    assert LocalModel.supports_schema and LocalModel.supports_batch and LocalModel.supports_adapters
    assert OrtGenAIModel.supports_batch and OrtGenAIModel.supports_prefix_reuse and not OrtGenAIModel.supports_adapters
    assert LlamaCppModel.supports_schema and not LlamaCppModel.supports_batch
    assert not OpenAIModel.supports_batch
    with pytest.raises(UsageError, match="cannot serve other weights"):
        plain.swap_weights(object())


@pytest.mark.parametrize("batching", [True, False])
def test_the_meter_batches_only_when_the_backend_declares_it(batching):
    model = ScriptedModel(default="r", supports_batch=batching)
    meter = Meter(model, max_tokens=10_000, max_seconds=60, emit=lambda event: None)
    replies = meter.generate_batch([[{"role": "user", "content": str(i)}] for i in range(3)], purpose="execute")
    assert [g.text for g in replies] == ["r"] * 3 and meter.usage.llm_calls == 3
    assert model.batches == ([3] if batching else [])


def test_a_local_engine_is_one_registration_and_the_cli_offers_it(tmp_path, monkeypatch):
    """A new engine: its model class and one register_engine call; load_model, the CLI's --backend and the
    settings all take it, and an adapter is served merged when the engine declares so."""
    from click.testing import CliRunner

    from agent.cli import app
    from agent.config import build_settings
    from agent.models import registry
    from agent.models.catalog import ModelSource
    from agent.models.registry import Engine, LoadOptions, register_engine

    monkeypatch.setattr(registry, "ENGINES", dict(registry.ENGINES))
    loaded: list[tuple[ModelSource, LoadOptions]] = []

    def load(source: ModelSource, options: LoadOptions) -> ChatModel:
        loaded.append((source, options))
        return ScriptedModel(default='{"next": "finish", "answer": "from the new engine"}', name="toy-engine")

    register_engine(Engine("toy", load, adapters="merged"))
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "config.json").write_text("{}")
    model = load_model(str(tmp_path / "weights"), backend="toy", device="cpu")
    assert model.name == "toy-engine" and loaded[0][0].directory == tmp_path / "weights"
    assert loaded[0][1].device == "cpu"
    assert build_settings({"backend": "toy"}).backend == "toy"
    assert registry.engine("toy").adapters == "merged"
    with pytest.raises(UsageError, match="unknown backend 'nope'.*toy"):
        load_model(str(tmp_path / "weights"), backend="nope", device="cpu")
    result = CliRunner().invoke(app, ["run", "hi", "--backend", "nope", "--model", str(tmp_path / "weights")])
    assert result.exit_code != 0 and "toy" in result.output
