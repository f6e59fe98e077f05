"""A tiny Llama trained in a test to memorise chat replies (test helper): greedy decoding then
writes exactly the assistant turns it was trained on, which makes a served model's replies known
in advance (tests/serving/, and the simulated user of tests/launch/test_evaluate_served_user.py).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from selfchallenge_jax.model import init_params
from selfchallenge_jax.model.llama import forward


def train_to_memorise(config, rendered, *, steps: int = 300, learning_rate: float = 5e-3,
                      max_loss: float = 0.02):
  """Params of `config` after Adam on `rendered` (RenderedChats of whole conversations), with the
  loss on the tokens the model writes (role_mask: assistant content and end of turn)."""
  n, T = len(rendered), max(len(r.ids) for r in rendered)
  tokens = np.zeros((n, T), np.int32)
  weights = np.zeros((n, T), np.float32)          # loss on the assistant's tokens (next-token)
  real = np.zeros((n, T), bool)
  for i, r in enumerate(rendered):
    tokens[i, :len(r.ids)] = r.ids
    weights[i, :len(r.ids) - 1] = r.role_mask[1:]
    real[i, :len(r.ids)] = True
  positions = np.broadcast_to(np.arange(T), (n, T))
  params = init_params(config, jax.random.key(0))
  optimizer = optax.adam(learning_rate)

  @jax.jit
  def step(params, opt_state):
    def loss_fn(p):
      logits = forward(p, tokens, positions, real, config)
      nll = -jnp.take_along_axis(jax.nn.log_softmax(logits[:, :-1]), tokens[:, 1:, None], -1)[..., 0]
      return (nll * weights[:, :-1]).sum() / weights.sum()
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = optimizer.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state, loss

  opt_state = optimizer.init(params)
  for _ in range(steps):
    params, opt_state, loss = step(params, opt_state)
  assert float(loss) < max_loss, float(loss)      # greedy decoding then writes the replies
  return params
