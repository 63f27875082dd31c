"""The package layout: stages import only the stages before them, no module imports itself back
through others, and modules stay small enough to read."""

import glob
import os
import sys

import grimp
from importlinter import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_MODULE_LINES = 260   # the "about 250"


def test_layers_contract_is_kept():
  """.importlinter: data -> augment -> models -> steps -> evaluation -> experiment -> report ->
  tools, over a base layer; the report imports no stage that trains."""
  cwd = os.getcwd()
  os.chdir(ROOT)
  try:
    assert cli.lint_imports(config_filename=os.path.join(ROOT, '.importlinter'), no_cache=True,
                            no_logo=True) == cli.EXIT_STATUS_SUCCESS
  finally:
    os.chdir(cwd)


def test_no_import_cycles():
  if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
  graph = grimp.build_graph('liverjax')
  cycles = []
  for module in sorted(graph.modules):
    for imported in sorted(graph.find_modules_directly_imported_by(module)):
      chain = graph.find_shortest_chain(importer=imported, imported=module)
      if chain:
        cycles.append((module,) + tuple(chain))
  assert not cycles, cycles


def test_modules_are_small():
  """liverjax's modules, the configs' and the benchmarks' (their package and commands)."""
  paths = [p for folder in ('liverjax', 'configs', 'benchmarks')
           for p in glob.glob(os.path.join(ROOT, folder, '**', '*.py'), recursive=True)]
  sizes = {path: sum(1 for _ in open(path)) for path in paths}
  assert {p: n for p, n in sizes.items() if n > MAX_MODULE_LINES} == {}
