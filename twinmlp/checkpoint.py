"""Checkpoints that either backend can load: safetensors plus JSON metadata.

One ``.safetensors`` file holds the parameters (``params.W1`` …), the optimizer state
(``optim.W1.exp_avg`` …, ``optim.step``), the scaler statistics (``scaler.mean``,
``scaler.scale``) and, when known, the test predictions of the run that wrote it
(``test_predictions``). Its header metadata holds one JSON document under the key
``twinmlp``: format version, model config, backend, device, dtype, dataset, training
config, and a SHA-256 checksum of that metadata and of every tensor's name, dtype, shape
and bytes.

Files are written atomically (temporary file, flush + fsync, rename), and nothing here
unpickles: a truncated or altered file meets one clear :class:`CheckpointError`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twinmlp.files import atomic_write_bytes
from twinmlp.shared.config import ModelConfig, TrainConfig
from twinmlp.shared.data import Standardizer
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.trainer import History, TrainState

FORMAT_VERSION = 1
FILENAME = "model.safetensors"
#: The epoch checkpoint a run folder keeps for ``--resume``.
LAST = "last.safetensors"


class CheckpointError(TwinMLPError):
    """A checkpoint that cannot be trusted or read."""


@dataclass
class Checkpoint:
    """What a checkpoint file holds."""

    params: dict[str, np.ndarray]
    scaler: Standardizer | None
    test_predictions: np.ndarray | None
    meta: dict[str, Any]
    optimizer_state: dict[str, np.ndarray]
    best_params: dict[str, np.ndarray]

    @property
    def model_config(self) -> ModelConfig:
        """The architecture the parameters belong to."""
        return config_from_dict(ModelConfig, self.meta["model_config"], "the checkpoint",
                                "model_config")


#: The metadata every checkpoint carries, and the JSON type of each entry.
REQUIRED_META = {"model_config": dict, "backend": str, "device": str, "dtype": str,
                 "dataset": str}
BACKENDS = ("numpy", "torch")
_JSON_NAMES = {dict: "object", list: "array", str: "string", int: "integer", float: "number",
               bool: "boolean", type(None): "null"}


def _json_name(value: Any) -> str:
    """What a JSON reader calls the type of ``value``."""
    return _JSON_NAMES.get(type(value), type(value).__name__)


def config_from_dict(cls: type, value: Any, source: str, key: str) -> Any:
    """``cls(**value)`` (a :class:`ModelConfig` or :class:`TrainConfig`) from the JSON
    object under ``key`` of ``source``, with a message naming both when a key is unknown
    or missing or a value is refused."""
    if not isinstance(value, dict):
        raise CheckpointError(f"{source}: {key} must be a JSON object, got "
                              f"{_json_name(value)}")
    fields = {field.name: field for field in dataclasses.fields(cls)}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise CheckpointError(f"{source}: {key} holds unknown key {unknown[0]!r}; expected "
                              f"keys: {', '.join(fields)}")
    missing = [name for name, field in fields.items() if name not in value
               and field.default is dataclasses.MISSING
               and field.default_factory is dataclasses.MISSING]
    if missing:
        raise CheckpointError(f"{source}: {key} lacks key {missing[0]!r}")
    if "layer_sizes" in value and isinstance(value["layer_sizes"], list):
        value = {**value, "layer_sizes": tuple(value["layer_sizes"])}
    try:
        return cls(**value)
    except TwinMLPError as error:
        raise CheckpointError(f"{source}: {key}: {error}") from None


def check_meta(meta: Any, source: str) -> dict[str, Any]:
    """``meta`` (a checkpoint's metadata or a run's ``config.json``) checked by key and
    type; messages name ``source`` and the key."""
    if not isinstance(meta, dict):
        raise CheckpointError(f"{source}: the metadata must be a JSON object, got "
                              f"{_json_name(meta)}")
    for key, kind in REQUIRED_META.items():
        if key not in meta:
            raise CheckpointError(f"{source}: the metadata lacks key {key!r}")
        if not isinstance(meta[key], kind):
            raise CheckpointError(f"{source}: {key} must be a JSON {_JSON_NAMES[kind]}, got "
                                  f"{_json_name(meta[key])}")
    if meta["backend"] not in BACKENDS:
        raise CheckpointError(f"{source}: backend {meta['backend']!r} is not one of "
                              f"{', '.join(BACKENDS)}")
    config_from_dict(ModelConfig, meta["model_config"], source, "model_config")
    if "train_config" in meta:
        config_from_dict(TrainConfig, meta["train_config"], source, "train_config")
    return meta


def checksum(tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> str:
    """SHA-256 over the metadata (less the checksum itself) and every tensor's name,
    dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    fields = {key: value for key, value in meta.items() if key != "checksum"}
    digest.update(json.dumps(fields, sort_keys=True).encode())
    for name in sorted(tensors):
        array = np.asarray(tensors[name], order="C")
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_checkpoint(path: Path, state: dict[str, np.ndarray], meta: dict[str, Any],
                    scaler: Standardizer | None = None,
                    test_predictions: np.ndarray | None = None,
                    optimizer_state: dict[str, np.ndarray] | None = None,
                    best_params: dict[str, np.ndarray] | None = None) -> None:
    """Write parameters (a state dict), scaler, predictions, optimizer state and (for
    epoch checkpoints) the best parameters so far with ``meta`` to ``path``."""
    from safetensors.numpy import save

    tensors = {f"params.{name}": np.array(value, order="C") for name, value in state.items()}
    for name, value in (optimizer_state or {}).items():
        tensors[f"optim.{name}"] = np.array(value, order="C")
    for name, value in (best_params or {}).items():
        tensors[f"best.{name}"] = np.array(value, order="C")
    if scaler is not None:
        tensors["scaler.mean"] = np.ascontiguousarray(scaler.mean)
        tensors["scaler.scale"] = np.ascontiguousarray(scaler.scale)
    if test_predictions is not None:
        tensors["test_predictions"] = np.ascontiguousarray(test_predictions, dtype=np.int64)
    header = {**meta, "format_version": FORMAT_VERSION}
    header["checksum"] = checksum(tensors, header)
    atomic_write_bytes(path, save(tensors, metadata={"twinmlp": json.dumps(header)}))


def resolve_path(path: Path) -> Path:
    """A run folder means the checkpoint inside it."""
    path = Path(path)
    return path / FILENAME if path.is_dir() else path


def load_checkpoint(path: Path) -> Checkpoint:
    """Read and verify a checkpoint (format version and checksum)."""
    from safetensors.numpy import load

    path = resolve_path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    data = path.read_bytes()
    try:
        meta = json.loads(_safetensors_metadata(data)["twinmlp"])
        tensors = load(data)
    except Exception as error:  # safetensors, json and struct each raise their own kind
        raise CheckpointError(f"checkpoint {path} is malformed or truncated "
                              f"({type(error).__name__}: {str(error)[:120]})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"checkpoint {path}: the metadata must be a JSON object, got "
                              f"{_json_name(meta)}")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {version!r}; this "
                              f"twinmlp reads version {FORMAT_VERSION}")
    if meta.get("checksum") != checksum(tensors, meta):
        raise CheckpointError(f"checkpoint {path} fails its checksum: the file was altered "
                              f"or damaged after it was written")
    check_meta(meta, f"checkpoint {path}")
    scaler = (Standardizer(tensors["scaler.mean"], tensors["scaler.scale"])
              if "scaler.mean" in tensors else None)
    def group(prefix: str) -> dict[str, np.ndarray]:
        return {name.removeprefix(prefix): value for name, value in tensors.items()
                if name.startswith(prefix)}

    return Checkpoint(group("params."), scaler, tensors.get("test_predictions"), meta,
                      group("optim."), group("best."))


def _safetensors_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors header (8-byte length, then JSON)."""
    (length,) = struct.unpack("<Q", data[:8])
    if length > len(data) - 8:
        raise TwinMLPError(f"header of {length} bytes runs past the end of the file")
    return json.loads(data[8:8 + length])["__metadata__"]


def build_model(checkpoint: Checkpoint, backend: str, device: str = "cpu") -> Any:
    """A twin of ``backend`` holding the checkpoint's parameters."""
    from twinmlp.twins import make_twin

    model = make_twin(backend, checkpoint.model_config, device)
    model.load_state_dict(checkpoint.params)
    return model


def save_train_state(path: Path, state: TrainState, meta: dict[str, Any]) -> None:
    """An epoch checkpoint: the run's :class:`TrainState` (parameters, optimizer state,
    best parameters, early-stopping counters, history) with the run's ``meta``."""
    record = {"epoch": state.epoch, "best_loss": state.best_loss,
              "best_epoch": state.best_epoch, "bad_epochs": state.bad_epochs,
              "stopped_early": state.history.stopped_early,
              "history": {c: getattr(state.history, c) for c in History.COLUMNS}}
    save_checkpoint(path, state.params, {**meta, "train_state": record},
                    optimizer_state=state.optimizer_state, best_params=state.best_params)


def load_train_state(path: Path) -> tuple[TrainState, dict[str, Any]]:
    """The :class:`TrainState` and run metadata of an epoch checkpoint."""
    checkpoint = load_checkpoint(path)
    record = checkpoint.meta.get("train_state")
    if record is None:
        raise CheckpointError(f"{path} is a final checkpoint, not an epoch checkpoint")
    _check_train_state(record, f"checkpoint {path}")
    history = History(**record["history"])
    history.stopped_early = record["stopped_early"]
    state = TrainState(record["epoch"], checkpoint.params, checkpoint.optimizer_state, history,
                       record["best_loss"], record["best_epoch"], record["bad_epochs"],
                       checkpoint.best_params or None)
    return state, checkpoint.meta


def _check_train_state(record: Any, source: str) -> None:
    """The ``train_state`` record of an epoch checkpoint, by key and type."""
    def number(value: Any) -> bool:  # JSON has no infinity; json.dumps writes Infinity
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def int_or_none(value: Any) -> bool:
        return value is None or (isinstance(value, int) and not isinstance(value, bool))

    expected = {"epoch": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                "best_loss": number, "best_epoch": int_or_none,
                "bad_epochs": lambda v: isinstance(v, int) and not isinstance(v, bool),
                "stopped_early": lambda v: isinstance(v, bool),
                "history": lambda v: isinstance(v, dict)}
    if not isinstance(record, dict):
        raise CheckpointError(f"{source}: train_state must be a JSON object, got "
                              f"{_json_name(record)}")
    for key, ok in expected.items():
        if key not in record:
            raise CheckpointError(f"{source}: train_state lacks key {key!r}")
        if not ok(record[key]):
            raise CheckpointError(f"{source}: train_state.{key} has the wrong type or value "
                                  f"({record[key]!r})")
    history = record["history"]
    columns = set(History.COLUMNS)
    if set(history) != columns:
        odd = sorted(columns ^ set(history))
        raise CheckpointError(f"{source}: train_state.history must have keys "
                              f"{', '.join(History.COLUMNS)} (differs in {odd[0]!r})")
    for column, values in history.items():
        if not isinstance(values, list) or len(values) != record["epoch"] or not all(
                number(v) for v in values):
            raise CheckpointError(f"{source}: train_state.history.{column} must be a list of "
                                  f"{record['epoch']} numbers, one per epoch")
    if not math.isnan(record["best_loss"]) and record["best_loss"] < 0:
        raise CheckpointError(f"{source}: train_state.best_loss is negative")
