"""envs/tmesig.yaml pins exactly what pyproject.toml pins."""

import tomllib

import yaml
from conftest import REPO


def test_conda_env_pins_match_pyproject():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((REPO / "envs" / "tmesig.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert all("==" in d for d in deps)
    assert sorted(pip) == sorted(deps)
    assert "python=3.11" in env["dependencies"]
