"""The public names of igautopost.graph import, and importing the errors stays light."""

from __future__ import annotations

import subprocess
import sys

import igautopost.graph as graph


def test_every_exported_name_imports():
    assert sorted(graph.__all__) == sorted(graph._EXPORTS)
    for name in graph.__all__:
        assert getattr(graph, name) is not None, name
    assert set(dir(graph)) >= set(graph.__all__)


def test_importing_the_errors_does_not_import_requests():
    code = (
        "import sys, igautopost.graph.errors, igautopost.graph.error_table, igautopost.graph; "
        "assert 'requests' not in sys.modules, 'requests imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
