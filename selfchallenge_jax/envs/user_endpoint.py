"""A model behind an OpenAI-compatible endpoint (a simulated user's, an endpoint challenger's, or
the agent launch.evaluate --agent_url scores), built to survive a flaky server.

    chat = EndpointChat("http://127.0.0.1:8000/v1", "gpt-4o", temperature=0.0)
    chat.check_reachable()                     # one clear error now, not one per episode later
    user = ModelUser(chat)                     # envs/simulated_user.py: tau-bench's user prompt

Each call POSTs /chat/completions; connection errors, timeouts, HTTP 429 and 5xx are retried with
exponential backoff (with jitter) up to `max_retries` times, then the call raises
UserEndpointError and is recorded in `gave_up`. Other HTTP errors (400, 401, 404...) are not
retried: asking again would not help. Calls are thread-safe: the rollout engine steps many
episodes' environments at once, so many requests are in flight together.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.error
import urllib.request
from typing import Any

Conversation = list[dict[str, str]]
_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class UserEndpointError(ConnectionError):
  """The user endpoint did not answer (after retries), or answered with something unusable."""


class EndpointChat:
  """conversation -> the endpoint model's reply; counts calls, retries and what it gave up on."""

  def __init__(self, base_url: str, model: str, *, api_key: str | None = None,
               temperature: float = 0.0, timeout_s: float = 120.0, max_retries: int = 5,
               backoff_s: float = 0.5, max_backoff_s: float = 30.0,
               max_tokens: int | None = None, role: str = "user") -> None:
    """role: whose endpoint this is ("user", "agent", ...), named in the errors."""
    self.role = role
    if not base_url.startswith(("http://", "https://")):
      raise ValueError(f"{role} endpoint URL must start with http:// or https://, got {base_url!r}")
    if max_retries < 0 or timeout_s <= 0:
      raise ValueError("max_retries must be >= 0 and timeout_s > 0")
    self.base_url = base_url.rstrip("/")
    self.model, self.api_key, self.temperature = model, api_key, temperature
    self.timeout_s, self.max_retries = timeout_s, max_retries
    self.backoff_s, self.max_backoff_s, self.max_tokens = backoff_s, max_backoff_s, max_tokens
    self._lock = threading.Lock()
    self.calls = 0
    self.retries = 0
    self.gave_up: list[dict[str, Any]] = []     # {"error": str, "attempts": int, "last_message"}

  def _headers(self) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if self.api_key:
      headers["Authorization"] = f"Bearer {self.api_key}"
    return headers

  def check_reachable(self, timeout_s: float = 10.0) -> None:
    """GET /models once: UserEndpointError naming the URL when nothing answers there."""
    request = urllib.request.Request(self.base_url + "/models", headers=self._headers())
    try:
      with urllib.request.urlopen(request, timeout=timeout_s) as response:
        response.read()
    except urllib.error.HTTPError as e:
      if e.code in (401, 403):
        raise UserEndpointError(f"{self.role} endpoint {self.base_url} refused the API key "
                                f"(HTTP {e.code})") from None
      # Some servers have no /models: any HTTP answer means the server is up.
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
      reason = getattr(e, "reason", e)
      raise UserEndpointError(f"{self.role} endpoint {self.base_url} is unreachable: "
                              f"{reason}") from None

  def __call__(self, conversation: Conversation) -> str:
    """The reply's text (a simulated user's next message)."""
    return self.complete(conversation).get("content") or ""

  def complete(self, conversation: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """The endpoint's assistant message (content and any tool_calls) for `conversation`;
    `fields` join the request body (tools, seed, ...)."""
    body: dict[str, Any] = {"model": self.model, "messages": conversation,
                            "temperature": self.temperature, **fields}
    if self.max_tokens is not None:
      body.setdefault("max_tokens", self.max_tokens)
    data = json.dumps(body).encode("utf-8")
    with self._lock:
      self.calls += 1
    error = ""
    for attempt in range(self.max_retries + 1):
      if attempt:
        with self._lock:
          self.retries += 1
        delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        time.sleep(delay * (0.5 + random.random() / 2))
      try:
        return self._post(data)
      except urllib.error.HTTPError as e:
        error = f"HTTP {e.code}: {_error_text(e)}"
        if e.code not in _RETRY_STATUS:
          break
      except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
        error = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
    record = {"error": error, "attempts": attempt + 1,
              "last_message": str(conversation[-1].get("content", ""))[:200] if conversation
              else ""}
    with self._lock:
      self.gave_up.append(record)
    raise UserEndpointError(f"{self.role} endpoint {self.base_url} gave no reply after "
                            f"{attempt + 1} attempts: {error}")

  def _post(self, data: bytes) -> dict[str, Any]:
    request = urllib.request.Request(self.base_url + "/chat/completions", data=data,
                                     headers=self._headers(), method="POST")
    with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
      payload = json.loads(response.read().decode("utf-8"))
    try:
      message = payload["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
      raise ValueError(f"not a chat completion: {str(payload)[:200]}") from None
    if not isinstance(message, dict):
      raise ValueError(f"choices[0].message is {type(message).__name__}, not an object")
    return message

  def stats(self) -> dict[str, Any]:
    with self._lock:
      return {"calls": self.calls, "retries": self.retries, "gave_up": list(self.gave_up)}


def _error_text(error: urllib.error.HTTPError) -> str:
  try:
    return error.read().decode("utf-8", "replace")[:200]
  except Exception:  # pylint: disable=broad-except
    return str(error.reason)
