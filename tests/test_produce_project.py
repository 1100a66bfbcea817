"""The production layer in projects: a composed song's parts re-rendered, shaped and layered by the recipe,
heard in the render (notes, spectra, loudness range, low-band energy at kicks)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from stems_fixtures import write_pop_song_parts

from trackwright.analysis.loudness import measure_loudness
from trackwright.audio import Audio, load_audio
from trackwright.errors import ParameterError
from trackwright.project import Project
from trackwright.project.operations import mix_project
from trackwright.project.recipe import Recipe
from trackwright.project.render import cache_key

RATE = 16000
BPM = 120.0


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The pop form, two bars a section, flat velocities; each part rendered alone as a stem, the draft their sum."""
    return write_pop_song_parts(tmp_path_factory.mktemp("produce-song"),
                                frozenset({"drums", "bass", "chords", "pad", "lead"}), rate=RATE, bpm=BPM)


@pytest.fixture(scope="module")
def project_dir(song: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("produce-project") / "song"
    Project.create(path, song["draft"], stems=song["stems"], midi=song["midi"])
    return path


def _sources_digest(project_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(project_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((project_dir / "sources").rglob("*")) if p.is_file()}


def _commit(project_dir: Path, production: dict, message: str = "production") -> int:
    project = Project.open(project_dir)
    with project.lock():
        base = project.recipe(1)
        return project.commit(base.replace(production=production), message).number


def _render(project_dir: Path, number: int):  # noqa: ANN202
    return Project.open(project_dir).render(number)


def _centroid_hz(audio: Audio) -> float:
    mono = audio.samples.mean(axis=0).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(mono))
    freqs = np.fft.rfftfreq(mono.size, 1.0 / audio.sample_rate)
    return float((spectrum * freqs).sum() / max(spectrum.sum(), 1e-12))


def test_recipe_production_round_trips_and_keys_the_cache(project_dir: Path) -> None:
    recipe = Project.open(project_dir).recipe(1)
    assert recipe.production is None and "production" not in recipe.music()
    # an empty block is no production: same music, same render
    assert cache_key(recipe.replace(production={})) == cache_key(recipe)
    produced = recipe.replace(production={"parts": {"chords": {"instrument": "ms-strings", "replaces": "chords",
                                                               "arc": "auto", "humanize_seed": 4, "legato": True}},
                                          "drums": {"stem": "drums", "blend_db": -6}})
    assert cache_key(produced) != cache_key(recipe)
    back = Recipe.from_yaml(produced.to_yaml())
    assert back.same_music(produced)
    assert back.production.parts["chords"].instrument == "ms-strings"
    assert back.production.drums.to_dict() == {"stem": "drums", "kit": None, "blend_db": -6.0}


@pytest.mark.parametrize(("production", "message"), [
    ({"parts": {"chords": {"instrument": "kazoo-9000"}}}, r"production\.parts\.chords\.instrument: unknown instrument"),
    ({"parts": {"chords": {"instrument": "strings", "replaces": "violins"}}},
     r"production\.parts\.chords\.replaces: no stem named 'violins'"),
    ({"parts": {"chords": {"instrument": "strings", "arc": "loud"}}}, r"production\.parts\.chords\.arc: must be auto"),
    ({"parts": {"chords": {"instrument": "strings", "humanize_seed": -1}}}, r"humanize_seed: must be a whole"),
    ({"parts": {"chords": {"instrument": "strings", "tempo": 3}}}, r"production\.parts\.chords\.tempo: unknown field"),
    ({"drums": {"stem": "cowbell"}}, r"production\.drums\.stem: no stem named 'cowbell'"),
    ({"drums": {"stem": "drums", "blend_db": 40}}, r"production\.drums\.blend_db: must be a number"),
    ({"parts": {"a": {"instrument": "piano", "replaces": "keys"}, "b": {"instrument": "piano", "replaces": "keys"}}},
     r"replaces"),
])
def test_bad_production_is_one_line(project_dir: Path, production: dict, message: str) -> None:
    recipe = Project.open(project_dir).recipe(1)
    with pytest.raises(ParameterError, match=message) as err:
        Recipe.from_dict({**recipe.to_dict(), "production": production}, where="recipes/v0009.yaml")
    assert "\n" not in str(err.value) and str(err.value).startswith("recipes/v0009.yaml: ")


def test_unknown_midi_part_is_one_line_at_render(project_dir: Path) -> None:
    number = _commit(project_dir, {"parts": {"violin": {"instrument": "strings"}}})
    with pytest.raises(ParameterError, match=r"production\.parts\.violin: no part named 'violin' in the MIDI") as err:
        _render(project_dir, number)
    assert "\n" not in str(err.value)


def test_rerendered_part_replaces_its_stem_and_stems_sum_to_the_mix(project_dir: Path, song: dict[str, Path]) -> None:
    before = _sources_digest(project_dir)
    plain = _render(project_dir, 1)
    number = _commit(project_dir, {"parts": {"chords": {"instrument": "strings", "replaces": "chords"}}},
                     "chords re-rendered as strings")
    done = _render(project_dir, number)
    assert "chords" not in done.stems and "midi:chords" in done.stems
    assert set(done.stems) == {"bass", "drums", "lead", "pad", "midi:chords"}
    mix = load_audio(done.mix)
    total = load_audio(done.residual).samples.astype(np.float64)
    for path in done.stems.values():
        total += load_audio(path).samples
    np.testing.assert_allclose(total, mix.samples, atol=1e-5)
    # the old chords are gone from the sum: the mix minus the other stems is the new part, not the stem
    old_chords = load_audio(song["stems"] / "chords.wav").samples
    rebuilt = load_audio(done.stems["midi:chords"])
    assert rebuilt.frames == mix.frames and rebuilt.sample_rate == RATE
    others = sum(load_audio(plain.stems[n]).samples.astype(np.float64) for n in ("bass", "drums", "lead", "pad"))
    left = mix.samples - others - load_audio(done.residual).samples
    np.testing.assert_allclose(left, rebuilt.samples, atol=1e-5)
    assert np.abs(left - old_chords[:, :left.shape[1]]).max() > 0.05
    # strings (sustained, bowed) sound unlike an electric piano: the spectrum moves
    assert abs(_centroid_hz(rebuilt) - _centroid_hz(Audio(old_chords, RATE))) > 100.0
    assert _sources_digest(project_dir) == before


def test_rerendered_part_plays_its_notes(project_dir: Path) -> None:
    """A re-rendered lead added (not replacing): its onsets sit on the MIDI's note starts."""
    from trackwright.arrange.midi import midi_notes
    from trackwright.produce.instruments import split_parts

    number = _commit(project_dir, {"parts": {"lead": {"instrument": "piano"}}})
    done = _render(project_dir, number)
    assert "lead" in done.stems and "midi:lead" in done.stems
    rebuilt = load_audio(done.stems["midi:lead"]).samples.mean(axis=0)
    notes = midi_notes(split_parts(done.midi)["lead"])
    hop = RATE // 100
    energy = np.array([np.sum(rebuilt[i:i + hop] ** 2) for i in range(0, rebuilt.size - hop, hop)])
    rises = np.flatnonzero(np.diff(np.log10(energy + 1e-9)) > 0.5) * 0.01
    starts = np.array(sorted({round(n[0], 2) for n in notes}))
    heard = np.mean([np.min(np.abs(rises - s)) < 0.05 for s in starts])
    assert heard > 0.8, f"only {heard:.0%} of the lead's note starts are heard"


def test_arc_raises_the_loudness_range(project_dir: Path) -> None:
    flat = _commit(project_dir, {"parts": {name: {"instrument": "piano" if name != "drums" else "drums",
                                                  "replaces": "draft"}
                                           for name in ("chords", "bass", "drums")}})
    shaped = _commit(project_dir, {"parts": {name: {"instrument": "piano" if name != "drums" else "drums",
                                                    "replaces": "draft", "arc": "auto"}
                                             for name in ("chords", "bass", "drums")}})
    flat_mix, shaped_mix = (load_audio(_render(project_dir, n).mix) for n in (flat, shaped))
    assert _render(project_dir, shaped).residual is None
    lra_flat = measure_loudness(flat_mix).loudness_range_lu
    lra_shaped = measure_loudness(shaped_mix).loudness_range_lu
    assert lra_shaped > lra_flat + 2.0, (lra_flat, lra_shaped)


def test_drum_layer_adds_low_end_at_the_kicks(project_dir: Path) -> None:
    from scipy import signal

    from trackwright.produce.drums import detect_hits, list_kits

    if not list_kits():
        pytest.skip("no Hydrogen drum kits installed (hydrogen-drumkits)")
    plain = _render(project_dir, 1)
    number = _commit(project_dir, {"drums": {"stem": "drums", "blend_db": 0.0}})
    done = _render(project_dir, number)
    before, after = load_audio(plain.stems["drums"]), load_audio(done.stems["drums"])
    sos = signal.butter(4, [40.0, 120.0], btype="bandpass", fs=RATE, output="sos")

    def low_at_kicks(audio: Audio, kicks: np.ndarray) -> float:
        low = signal.sosfilt(sos, audio.samples.mean(axis=0))
        return float(sum(np.sum(low[round(t * RATE):round((t + 0.08) * RATE)] ** 2) for t in kicks))

    kicks = detect_hits(before, "kick")
    assert len(kicks) >= 8
    gain_db = 10 * np.log10(low_at_kicks(after, kicks) / low_at_kicks(before, kicks))
    assert gain_db > 1.5, gain_db
    # the rest of the render is untouched and still sums
    np.testing.assert_array_equal(load_audio(done.stems["bass"]).samples, load_audio(plain.stems["bass"]).samples)


def test_produce_command_makes_a_described_version(song: dict[str, Path], tmp_path: Path, capsys) -> None:
    import json

    from clirun import run
    path = tmp_path / "song"
    Project.create(path, song["draft"], stems=song["stems"], midi=song["midi"])
    before = _sources_digest(path)
    code, out, err = run(capsys, "produce", path, "--instrument", "chords=slow-strings", "--replace", "chords=chords",
                         "--arc", "auto", "--humanize", "5", "--legato", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["version"] == 2 and data["parent"] == 1
    assert data["production"]["parts"]["chords"] == {"instrument": "slow-strings", "replaces": "chords", "arc": "auto",
                                                     "humanize_seed": 5, "legato": True}
    assert data["changes"] == ["chords re-rendered as slow-strings, replacing stem chords, dynamics shaped along "
                               "the sections, humanised (seed 5), legato"]
    project = Project.open(path)
    assert project.versions()[-1].message == data["changes"][0]
    assert project.diff(1, 2) == data["changes"]
    assert load_audio(data["mix"]).frames > 0
    # a second command changes only what it names, and says so
    code, out, err = run(capsys, "produce", path, "--instrument", "lead=piano", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data["production"]["parts"]) == {"chords", "lead"} and data["changes"] == ["lead re-rendered as piano"]
    assert _sources_digest(path) == before
    for args, message in ((("--instrument", "violin=strings"), "no part named 'violin'"),
                          (("--instrument", "lead=kazoo"), "unknown instrument 'kazoo'"),
                          (("--replace", "pad=pad"), "needs an instrument too"),
                          (("--instrument", "bass=piano", "--replace", "bass=tuba"), "no stem named 'tuba'"),
                          (("--arc", "wild"), "--arc must be auto or none"),
                          (("--instrument", "lead=piano"), "nothing to change")):
        code, out, err = run(capsys, "produce", path, *args)
        assert code == 1 and message in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err
    assert len(Project.open(path).versions()) == 3


def test_mix_plans_the_rebuilt_parts(song: dict[str, Path], tmp_path: Path) -> None:
    """A project made of its MIDI alone (the draft replaced) is mixed part by part."""
    path = tmp_path / "song"
    Project.create(path, song["draft"], midi=song["midi"])  # no stems
    number = _commit(path, {"parts": {"chords": {"instrument": "piano", "replaces": "draft"},
                                      "bass": {"instrument": "bass", "replaces": "draft"}}})
    assert number == 2
    done = mix_project(Project.open(path), style="pop")
    assert set(done.plan.parts) == {"midi:bass", "midi:chords"}
    rendered = Project.open(path).render(done.version)
    assert set(rendered.stems) == {"midi:bass", "midi:chords"} and rendered.residual is None
    assert measure_loudness(load_audio(rendered.mix)).integrated_lufs > -40.0
