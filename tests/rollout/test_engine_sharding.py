"""The engine's programs run under the mesh: the extend-prefill keeps the gathered rows batch-sharded.

Without the mesh context the model's logical activation constraints are no-ops and the rows the
extend gathers (by replicated row ids) are computed whole on every device: the issue-8 AOT check saw
the 8B prefill need 184 GB of temporaries per v5p chip that way.
"""

import jax
import numpy as np
import pytest

from chat_fixtures import make_chat
from selfchallenge_jax.model import get_config, init_params
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.sampling import Sampler
from selfchallenge_jax.sharding import make_mesh

pytestmark = pytest.mark.skipif(jax.device_count() < 8, reason="needs 8 (simulated) devices")


def _extend_args(engine, rows, length):
  sampler = engine.sampler
  state = engine.init_program()()
  stops = sampler.max_stop_ids
  settings = dict(key_data=np.zeros((rows, 2), np.uint32),
                  temperature=np.ones((rows,), np.float32), top_p=np.ones((rows,), np.float32),
                  max_new=np.full((rows,), 4, np.int32), stop_ids=np.full((rows, stops), -1, np.int32))
  return (sampler.params, state, np.arange(rows, dtype=np.int32),
          np.ones((rows, length), np.int32), np.full((rows,), length, np.int32),
          np.ones((rows,), bool), settings)


def test_extend_prefill_is_batch_sharded_under_the_mesh(tmp_path):
  _, chat = make_chat(tmp_path)
  config = get_config("tiny", vocab_size=512, d_model=128, mlp_dim=512, max_seq_len=512)
  params = init_params(config, jax.random.key(0))
  mesh = make_mesh((1, 8, 1))
  engine = RolloutEngine(Sampler(params, config, cache_len=256, mesh=mesh), chat, num_slots=16,
                         max_turn_tokens=8, max_episode_tokens=64)
  try:
    fn = engine.extend_program(16, 128, 256)
    args = _extend_args(engine, 16, 128)
    under_mesh = fn.lower(*args).compile().memory_analysis().temp_size_in_bytes
    without = fn.jitted.lower(*args).compile().memory_analysis().temp_size_in_bytes
    # 8-way batch split: the per-device activations of 16 rows x 128 tokens shrink several-fold.
    assert under_mesh * 3 < without, (under_mesh, without)
    # And the program still runs (donating the state), returning the state's layout.
    out = fn(*args)
    assert out.cache.k[0].sharding == engine.init_program()().cache.k[0].sharding
  finally:
    engine.close()
