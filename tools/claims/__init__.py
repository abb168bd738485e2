"""The lessons' claims, one module per lesson, checked by ``tools/check_claims.py``.

A claim is a sentence a lesson page states about a trained model ("the generator's
spread is within 0.8-1.2x the data's"). Each is a function ``claim_<name>`` in
``tools/claims/lesson<N>.py``::

    def claim_toy_gan_spread(settings: Settings) -> Outcome:
        \"\"\"The 1-D toy GAN's generator matches the data's spread (0.8-1.2x).\"\"\"
        ...  # the lesson's own recipe and budget (settings.profile), seed settings.seed
        return Outcome(values={"spread_ratio": ratio}, passed=0.8 <= ratio <= 1.2)

The docstring's first paragraph is the claim as the page states it. The runner calls the
function once per seed with a fresh :class:`course_lib.settings.Settings` (seeded, with
the chosen profile); a claim holds when it passes for every seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Outcome:
    """What one run of a claim measured.

    Attributes:
        values: the measured figures by name (numbers, as written to the JSON).
        passed: whether the claim held in this run.
    """

    values: dict[str, float] = field(default_factory=dict)
    passed: bool = False
