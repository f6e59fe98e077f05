"""Orbax CheckpointManager around the train state: async save, keep-N, restore onto any mesh.

Each step directory holds the items `state` (the TrainState pytree), `metadata` (JSON: run config,
model config, anything the caller adds) and, when given, `data` (JSON: the data iterator state).
"""

from __future__ import annotations

from typing import Any

import jax
import orbax.checkpoint as ocp
from etils import epath

_ITEMS = ("state", "metadata", "data")


class CheckpointError(RuntimeError):
  """A checkpoint directory is missing, empty or incomplete."""


class Checkpointer:

  def __init__(self, directory: epath.PathLike, *, max_to_keep: int | None = 3,
               save_interval_steps: int = 1, async_save: bool = True, create: bool = True):
    self.directory = epath.Path(directory)
    if not create and not self.directory.exists():
      raise CheckpointError(f"checkpoint directory {self.directory} does not exist")
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, save_interval_steps=save_interval_steps,
        enable_async_checkpointing=async_save, create=create)
    self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=_ITEMS)

  def save(self, step: int, state: Any, metadata: dict[str, Any], *,
           data_state: dict[str, Any] | None = None, force: bool = False) -> bool:
    """Starts a (possibly async) save; returns False when the interval policy skips this step."""
    items = dict(state=ocp.args.StandardSave(state), metadata=ocp.args.JsonSave(metadata))
    if data_state is not None:
      items["data"] = ocp.args.JsonSave(data_state)
    return self._manager.save(int(step), args=ocp.args.Composite(**items), force=force)

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def restore(self, abstract_state: Any, step: int | None = None) -> tuple[Any, dict, dict | None]:
    """Restores (state, metadata, data_state) at `step` (default: latest).

    abstract_state: a pytree of jax.ShapeDtypeStruct whose `sharding`s say where each array goes;
    the mesh may differ from the one the checkpoint was saved from.
    """
    step = self.latest_step() if step is None else step
    if step is None:
      raise CheckpointError(f"no complete checkpoint in {self.directory}")
    step_dir = self.directory / str(step)
    if not step_dir.exists():
      raise CheckpointError(f"checkpoint step {step} not found in {self.directory}; "
                            f"available: {self.all_steps()}")
    missing = [name for name in ("state", "metadata") if not (step_dir / name).exists()]
    if missing:
      raise CheckpointError(f"checkpoint {step_dir} is incomplete: missing item(s) {missing}")
    items = dict(state=ocp.args.StandardRestore(abstract_state), metadata=ocp.args.JsonRestore())
    has_data = (step_dir / "data").exists()
    if has_data:
      items["data"] = ocp.args.JsonRestore()
    try:
      restored = self._manager.restore(step, args=ocp.args.Composite(**items))
    except (ValueError, KeyError, FileNotFoundError) as e:
      raise CheckpointError(f"checkpoint {step_dir} could not be restored: {e}") from e
    return restored["state"], restored["metadata"], restored["data"] if has_data else None

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

  def __enter__(self) -> "Checkpointer":
    return self

  def __exit__(self, *exc: Any) -> None:
    self.close()


