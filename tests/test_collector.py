"""cnncalc/collector.py: the collector is off inside `paused()` and as it was after, errors included."""

import gc

import pytest

from cnncalc import collector


def test_paused_turns_the_collector_off_and_back_on():
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
        with collector.paused():  # nested: still off, and the outer one turns it back on
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_turns_it_back_on():
    with pytest.raises(ValueError):
        with collector.paused():
            raise ValueError
    assert gc.isenabled()


def test_a_collector_already_off_stays_off():
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_report_stages_run_with_it_paused(monkeypatch):
    from cnncalc import analysis, report
    from cnncalc.pipeline import analyze_text

    seen = []
    real_analyze, real_build = analysis.analyze, report._build
    monkeypatch.setattr("cnncalc.pipeline.analyze", lambda *a: seen.append(gc.isenabled()) or real_analyze(*a))
    monkeypatch.setattr(report, "_build", lambda *a: seen.append(gc.isenabled()) or real_build(*a))
    report.build(analyze_text("input: 8x8x3\nlayers: [relu]\n", "x.yaml"), report.Options())
    assert seen == [False, False] and gc.isenabled()


def test_what_a_paused_block_made_is_moved_to_the_oldest_generation():
    """The next collections of the young generations do not walk it again; a full one still does."""
    with collector.paused():
        made = [[index] for index in range(1000)]
    young = {id(o) for generation in (0, 1) for o in gc.get_objects(generation=generation)}
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert not any(id(item) in young for item in made) and all(id(item) in oldest for item in made)
    assert gc.get_freeze_count() == 0  # nothing left frozen


def test_objects_frozen_by_someone_else_stay_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector.paused():
            made = [[index] for index in range(10)]
        assert gc.get_freeze_count() == frozen and made
    finally:
        gc.unfreeze()
