"""The model's compiled loops are cached under a key that follows all the model's sources.

Numba's own key is the time stamp and size of the kernel's file; a kernel carries the code of the
kernels it calls from other files (the compiled month links every submodel's), so an edit of a
submodel would leave the month's cache, and its results, as they were (simulation/compiled.py).
"""

import os

from simulation.compiled import ROOT, sources_stamp


def test_every_kernel_is_keyed_on_all_the_sources():
    import simulation.model  # noqa: F401 - imports every module with kernels
    from simulation import warmup

    kernels = warmup.kernels()
    assert len(kernels) > 40
    stamp = sources_stamp(ROOT)
    for name, kernel in kernels.items():
        assert kernel._cache._cache_file._source_stamp[1] == stamp, name


def test_the_key_changes_when_any_source_changes(tmp_path):
    (tmp_path / "mechanisms").mkdir()
    (tmp_path / "mechanisms" / "__pycache__").mkdir()
    (tmp_path / "model.py").write_text("x = 1\n")
    (tmp_path / "mechanisms" / "contact.py").write_text("y = 1\n")
    (tmp_path / "mechanisms" / "__pycache__" / "contact.nbi.py").write_text("cache\n")
    before = sources_stamp(tmp_path)
    assert before[2] == 2  # the compiled cache is not a source
    os.utime(tmp_path / "mechanisms" / "contact.py", (before[0] + 10, before[0] + 10))
    assert sources_stamp(tmp_path) != before
    (tmp_path / "mechanisms" / "contact.py").write_text("y = 22\n")
    assert sources_stamp(tmp_path)[1] == before[1] + 1
