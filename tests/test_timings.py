"""The lessons' time tables come from the measurement file, never from guesses."""

from __future__ import annotations

import json

from course_lib.page.timings import timing_markdown


def test_measured_and_missing_profiles(tmp_path):
    path = tmp_path / "times.json"
    path.write_text(
        json.dumps(
            {
                "lesson9": {
                    "cpu": {"seconds": 150.0, "machine": "2 CPU cores"},
                    "smoke": {
                        "seconds": 12.4,
                        "machine": "2 CPU cores",
                        "load_average_before": 6.29,
                    },
                }
            }
        )
    )
    table = timing_markdown("lesson9", path).splitlines()
    assert table[2] == "| `smoke` | 12 s | empty | 2 CPU cores, load average 6.3 |"
    assert table[3] == "| `cpu` | 2.5 min | empty | 2 CPU cores |"
    assert table[4] == "| `gpu` | not measured yet | | |"
    assert "not measured yet" in timing_markdown("unknown", path)


def test_a_shared_cache_is_named(tmp_path):
    path = tmp_path / "times.json"
    path.write_text(
        json.dumps(
            {
                "lesson7_x": {
                    "cpu": {
                        "seconds": 61.0,
                        "machine": "2 CPU cores",
                        "cache_filled_by": [
                            "lesson3_variational_autoencoders",
                            "lesson4_gans",
                        ],
                    }
                }
            }
        )
    )
    row = timing_markdown("lesson7_x", path).splitlines()[3]
    assert row == "| `cpu` | 61 s | filled by lesson 3, lesson 4 | 2 CPU cores |"
