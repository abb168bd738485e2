"""The lessons' time tables come from the measurement file, never from guesses."""

from __future__ import annotations

import json

from course_lib.page.timings import NOT_MEASURED, timing_markdown


def test_student_profiles_only_with_machine_and_date(tmp_path):
    path = tmp_path / "times.json"
    path.write_text(
        json.dumps(
            {
                "lesson9": {
                    "cpu": {
                        "seconds": 150.0,
                        "machine": "2 CPU cores",
                        "threads": 2,
                        "date": "2026-11-30",
                    },
                    "smoke": {"seconds": 12.4, "machine": "2 CPU cores"},
                }
            }
        )
    )
    table = timing_markdown("lesson9", path).splitlines()
    # 150 s = 2.5 min; the CI profile (smoke) and the unmeasured GPU are not shown
    assert (
        table[2]
        == "| without a GPU | 2.5 min | 2 CPU cores, 2 torch threads, 2026-11-30 |"
    )
    assert len(table) == 3
    assert timing_markdown("unknown", path) == NOT_MEASURED


def test_reused_models_are_named(tmp_path):
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
                    },
                    "gpu": {"seconds": 20.0, "machine": "NVIDIA H200"},
                }
            }
        )
    )
    rows = timing_markdown("lesson7_x", path).splitlines()
    # recorded before the loaded models were counted: which lessons ran first
    assert rows[2] == (
        "| without a GPU | 61 s (run after lessons 3\N{EN DASH}4, as in the book) "
        "| 2 CPU cores |"
    )
    assert rows[3] == "| with a GPU | 20 s | NVIDIA H200 |"


def test_models_loaded_from_earlier_lessons_are_counted(tmp_path):
    path = tmp_path / "times.json"
    entries = {
        "lesson7_x": {"seconds": 50.0, "models_reused": 1, "cache_filled_by": ["a"]},
        "lesson6_x": {"seconds": 90.0, "models_reused": 0, "cache_filled_by": ["a"]},
    }
    path.write_text(json.dumps({k: {"cpu": v} for k, v in entries.items()}))
    row7 = timing_markdown("lesson7_x", path).splitlines()[2]
    row6 = timing_markdown("lesson6_x", path).splitlines()[2]
    assert row7 == (
        "| without a GPU | 50 s (it loads 1 model an earlier lesson trained) |  |"
    )
    assert row6 == "| without a GPU | 90 s |  |"
