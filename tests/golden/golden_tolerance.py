"""The tolerance each committed golden case states, measured (one place for both generators).

`tests/golden_tolerances.json` maps a case name to the tightest `{"rel", "abs"}` that holds for it: twice
the worst measured disagreement between neurite and PyTorch, rounded up (see
`Agreement::tightest` in tests/src/golden.rs). Regenerate it after changing a case:

    NEURITE_GOLDEN_TOLERANCES=$PWD/tests/golden_tolerances.json \
        cargo test -p neurite-tests --test golden -- --ignored measure_agreement

then run the generators again. A case not in the file (a new one) gets the format's
default, which the measurement then tightens.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = {"rel": 1e-4, "abs": 1e-5}

try:
    with open(os.path.join(HERE, os.pardir, "golden_tolerances.json")) as f:
        MEASURED = json.load(f)
except FileNotFoundError:
    MEASURED = {}


def tolerance(name):
    """The tolerance case `name` states: its measured one, else the format's default."""
    return MEASURED.get(name, DEFAULT)
