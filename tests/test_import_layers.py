"""The import contract: packages of selfchallenge_jax import only packages of lower layers, and no
module imports itself back through others. Read from the source (ast), nothing is imported."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1] / "selfchallenge_jax"

# Lowest first. A package may import packages of strictly lower layers (and its own modules).
LAYERS = [
    {"sharding", "io", "sandbox", "tokenizer", "envs"},
    {"model", "tasks"},
    {"checkpoint", "distributed", "sampling", "data"},
    {"rl", "rollout"},
    {"agents", "challenge", "serving"},
    {"evaluation"},
    {"train"},
    {"aot"},
    {"pipeline"},
]


def _modules() -> dict[str, pathlib.Path]:
  out = {}
  for path in ROOT.rglob("*.py"):
    parts = ("selfchallenge_jax",) + path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
      parts = parts[:-1]
    out[".".join(parts)] = path
  return out


def _imports(path: pathlib.Path, modules: dict[str, pathlib.Path]) -> set[str]:
  """The project modules `path` imports (`from pkg import submodule` counts as the submodule)."""
  found = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      found.update(a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      for alias in node.names:
        sub = f"{node.module}.{alias.name}"
        found.add(sub if sub in modules else node.module)
  return {m for m in found if m in modules}


def _package(module: str) -> str:
  return module.split(".")[1] if module.count(".") else ""


def test_every_package_has_a_layer():
  packages = {p.name for p in ROOT.iterdir() if p.is_dir() and any(p.glob("*.py"))}
  placed = set().union(*LAYERS)
  assert packages == placed, (sorted(packages - placed), sorted(placed - packages))


def test_packages_import_only_lower_layers():
  modules = _modules()
  layer = {p: i for i, group in enumerate(LAYERS) for p in group}
  bad = []
  for name, path in modules.items():
    src = _package(name)
    for target in _imports(path, modules):
      dst = _package(target)
      if src and dst and dst != src and layer[dst] >= layer[src]:
        bad.append(f"{name} -> {target}")
  assert not bad, "imports that run up or across the layers:\n" + "\n".join(sorted(bad))


def test_no_module_import_cycle():
  modules = _modules()
  graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
  # A package's __init__ re-exporting its submodules is not a cycle: drop package -> own child.
  for name, deps in graph.items():
    graph[name] = {d for d in deps if not (d.startswith(name + ".") and modules[name].name ==
                                           "__init__.py")}
  state: dict[str, int] = {}
  cycles = []

  def visit(node, stack):
    state[node] = 1
    stack.append(node)
    for dep in graph[node]:
      if state.get(dep) == 1:
        cycles.append(stack[stack.index(dep):] + [dep])
      elif dep not in state:
        visit(dep, stack)
    stack.pop()
    state[node] = 2
  for node in graph:
    if node not in state:
      visit(node, [])
  assert not cycles, "\n".join(" -> ".join(c) for c in cycles)
