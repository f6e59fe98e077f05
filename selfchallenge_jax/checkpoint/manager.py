"""Orbax CheckpointManager around the train state: async save, keep-N, restore onto any mesh.

Each step directory holds the items
  params    the params pytree (alone, so export/eval restore it without optimizer state),
  train     the rest of the TrainState (optimizer state, step, rng); absent for params-only
            checkpoints such as an HF import,
  metadata  JSON: "model_config" (LlamaConfig.to_dict) plus whatever the caller adds,
  data      JSON: the data iterator state, when given.
"""

from __future__ import annotations

from typing import Any

import orbax.checkpoint as ocp
from etils import epath

from selfchallenge_jax.checkpoint.train_state import TrainState

_ITEMS = ("params", "train", "metadata", "data")


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

  # ---- save -----------------------------------------------------------------------------------
  def save(self, step: int, state: TrainState, metadata: dict[str, Any], *,
           data_state: dict[str, Any] | None = None, force: bool = False) -> bool:
    """Starts a (possibly async) save; returns False when the interval policy skips this step."""
    train = {"opt_state": state.opt_state, "step": state.step, "rng": state.rng}
    return self._save(step, state.params, metadata, train=train, data_state=data_state, force=force)

  def save_params(self, step: int, params: Any, metadata: dict[str, Any]) -> bool:
    """A params-only checkpoint (HF import, exported policies)."""
    return self._save(step, params, metadata, force=True)

  def _save(self, step, params, metadata, *, train=None, data_state=None, force=False) -> bool:
    if "model_config" not in metadata:
      raise ValueError("checkpoint metadata must include 'model_config' (LlamaConfig.to_dict())")
    items = dict(params=ocp.args.StandardSave(params), metadata=ocp.args.JsonSave(metadata))
    if train is not None:
      items["train"] = ocp.args.StandardSave(train)
    if data_state is not None:
      items["data"] = ocp.args.JsonSave(data_state)
    return self._manager.save(int(step), args=ocp.args.Composite(**items), force=force)

  # ---- restore --------------------------------------------------------------------------------
  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def _step_dir(self, step: int | None, required: tuple[str, ...]) -> tuple[int, epath.Path]:
    step = self.latest_step() if step is None else step
    if step is None:
      raise CheckpointError(f"no complete checkpoint in {self.directory}")
    step_dir = self.directory / str(step)
    if not step_dir.exists():
      raise CheckpointError(f"checkpoint step {step} not found in {self.directory}; "
                            f"available: {self.all_steps()}")
    missing = [name for name in required if not (step_dir / name).exists()]
    if missing:
      raise CheckpointError(f"checkpoint {step_dir} is incomplete: missing item(s) {missing}")
    return step, step_dir

  def _restore(self, step: int, step_dir: epath.Path, items: dict[str, Any]) -> dict[str, Any]:
    try:
      return self._manager.restore(step, args=ocp.args.Composite(**items))
    except (ValueError, KeyError, FileNotFoundError) as e:
      raise CheckpointError(f"checkpoint {step_dir} could not be restored: {e}") from e

  def metadata(self, step: int | None = None) -> dict[str, Any]:
    step, step_dir = self._step_dir(step, ("metadata",))
    return self._restore(step, step_dir, {"metadata": ocp.args.JsonRestore()})["metadata"]

  def restore_params(self, abstract_params: Any, step: int | None = None) -> tuple[Any, dict]:
    """Restores (params, metadata); abstract_params carry the target shardings."""
    step, step_dir = self._step_dir(step, ("params", "metadata"))
    out = self._restore(step, step_dir, dict(params=ocp.args.StandardRestore(abstract_params),
                                             metadata=ocp.args.JsonRestore()))
    return out["params"], out["metadata"]

  def restore(self, abstract_state: TrainState,
              step: int | None = None) -> tuple[TrainState, dict, dict | None]:
    """Restores (state, metadata, data_state) at `step` (default: latest).

    abstract_state: a TrainState of jax.ShapeDtypeStruct whose `sharding`s say where each array
    goes; the mesh may differ from the one the checkpoint was saved from.
    """
    step, step_dir = self._step_dir(step, ("params", "train", "metadata"))
    train = {"opt_state": abstract_state.opt_state, "step": abstract_state.step,
             "rng": abstract_state.rng}
    items = dict(params=ocp.args.StandardRestore(abstract_state.params),
                 train=ocp.args.StandardRestore(train), metadata=ocp.args.JsonRestore())
    has_data = (step_dir / "data").exists()
    if has_data:
      items["data"] = ocp.args.JsonRestore()
    out = self._restore(step, step_dir, items)
    state = TrainState(step=out["train"]["step"], params=out["params"],
                       opt_state=out["train"]["opt_state"], rng=out["train"]["rng"])
    return state, out["metadata"], out["data"] if has_data else None

  # ---- lifecycle ------------------------------------------------------------------------------
  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

  def __enter__(self) -> "Checkpointer":
    return self

  def __exit__(self, *exc: Any) -> None:
    self.close()
