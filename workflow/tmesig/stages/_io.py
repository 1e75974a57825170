"""The inputs, outputs and parameters a stage is given (a Snakemake job, or a notebook)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["StageIO"]


@dataclass(frozen=True)
class StageIO:
    """Named files and parameters of one stage run.

    Attributes
    ----------
    input, output
        Rule input / output name -> path (or list of paths for a list-valued input).
    params
        Rule parameter name -> value (config sections, the sample-sheet row...).
    wildcards
        Wildcard name -> value (``dataset``).
    threads
        Cores the stage may use.
    """

    input: Mapping[str, Any]
    output: Mapping[str, Any]
    params: Mapping[str, Any] = field(default_factory=dict)
    wildcards: Mapping[str, str] = field(default_factory=dict)
    threads: int = 1

    @classmethod
    def from_snakemake(cls, smk: Any) -> "StageIO":
        """Build from the ``snakemake`` object a ``script:`` receives (named items only)."""

        def named(namedlist: Any) -> dict[str, Any]:
            return {k: v for k, v in namedlist.items()}

        return cls(
            input=named(smk.input),
            output=named(smk.output),
            params=named(smk.params),
            wildcards=named(smk.wildcards),
            threads=int(smk.threads),
        )
