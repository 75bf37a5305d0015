"""Mesa's Model and Agent come without the rest of Mesa; Mesa stays whole for everyone else."""

import subprocess
import sys

# Parts of Mesa (and what they import) that the model does not use.
UNUSED = (
    "mesa.discrete_space",
    "mesa.batchrunner",
    "mesa.space",
    "mesa.experimental.continuous_space",
    "mesa.experimental.devs",
    "networkx",
    "scipy.spatial",
)


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_model_and_agent_come_without_the_rest_of_mesa():
    loaded = _run(
        "import sys\n"
        "from simulation.mesa_core import Agent, Model\n"
        "import mesa.agent, mesa.model\n"
        "assert Agent is mesa.agent.Agent and Model is mesa.model.Model\n"
        f"print(' '.join(m for m in {UNUSED!r} if m in sys.modules))"
    )
    assert loaded == ""


def test_the_model_imports_no_unused_part_of_mesa():
    loaded = _run(
        "import sys\n"
        "from simulation import PeerLearningModel\n"
        f"print(' '.join(m for m in {UNUSED!r} if m in sys.modules))"
    )
    assert loaded == ""


def test_mesa_is_whole_for_its_other_users():
    out = _run(
        "from simulation.mesa_core import Agent, Model\n"
        "import mesa\n"
        "from mesa import DataCollector, batch_run\n"
        "from mesa.discrete_space import OrthogonalMooreGrid\n"
        "from mesa.experimental import devs\n"
        "assert mesa.experimental.continuous_space and devs.Simulator\n"
        "assert not set(mesa.experimental.__all__) - set(dir(mesa.experimental))\n"
        "assert mesa.Agent is Agent and mesa.Model is Model\n"
        "assert not hasattr(mesa, 'no_such_name')\n"
        "print(mesa.__version__, sorted(set(mesa.__all__) - set(dir(mesa))))"
    )
    version, missing = out.split(" ", 1)
    assert version.count(".") == 2
    assert missing == "[]"


def test_mesa_imported_first_is_used_as_it_is():
    out = _run(
        "import mesa\n"
        "whole = mesa\n"
        "from simulation.mesa_core import Agent, Model\n"
        "import sys\n"
        "print(sys.modules['mesa'] is whole, Agent is whole.Agent, Model is whole.Model)"
    )
    assert out == "True True True"
