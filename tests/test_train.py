import numpy as np
import pytest
import torch

from sweeper import Data
from sweeper.diagnosis import Label, diagnose_run, diagnose_trial
from sweeper.model import build
from sweeper.train import resolve_device, train_repeats
from sweeper.validate import SpecError
from sweeper.windows import prepare

CPU = torch.device("cpu")
TOY = prepare(Data.toy())
# The tutorial's first model: LSTM(10), Dense(1), adam, mse, full batch, no shuffling.
TUTORIAL = dict(hidden=10, layers=1, dropout=0.0, weight_decay=0.0, lr=1e-3, batch_size=32,
                optimizer="adam", loss="mse", init="keras", shuffle=False, epochs=100)


def config(**over):
    return {**TUTORIAL, **over}


def test_keras_init():
    m = build(1, 8, 2, 0.0, "keras", seed=0)
    for lstm in m.lstms:
        w_hh = lstm.weight_hh_l0.detach()  # (4h, h): orthonormal columns
        torch.testing.assert_close(w_hh.T @ w_hh, torch.eye(8), atol=1e-5, rtol=0)
        assert torch.all(lstm.bias_ih_l0[8:16] == 1.0) and torch.all(lstm.bias_hh_l0 == 0.0)
        assert lstm.bias_ih_l0[:8].abs().sum() == 0


def test_init_depends_on_seed_only():
    a, b, c = (build(1, 4, 1, 0.0, "keras", s) for s in (3, 3, 4))
    torch.testing.assert_close(a.state_dict(), b.state_dict())
    assert not torch.equal(a.head.weight, c.head.weight)


def test_same_seed_same_curves_with_dropout_weight_decay_and_minibatches():
    windows = prepare(Data(source="synthetic", window=6))
    cfg = config(hidden=6, layers=2, dropout=0.3, weight_decay=1e-3, batch_size=16,
                 shuffle=True, optimizer="adamw", epochs=4)
    a = train_repeats(cfg, windows, [11, 12], CPU, patience=None)
    torch.manual_seed(999)  # global RNG state must not matter
    b = train_repeats(cfg, windows, [11, 12], CPU, patience=None)
    np.testing.assert_array_equal(a.train, b.train)
    np.testing.assert_array_equal(a.val, b.val)
    assert not np.array_equal(a.val[0], a.val[1])  # repeats differ


@pytest.mark.parametrize("engine", ["sequential", "vectorized"])
def test_a_repeat_trains_the_same_alone_or_beside_others(engine):
    windows = prepare(Data(source="synthetic", window=6))
    cfg = config(hidden=5, dropout=0.2, batch_size=32, shuffle=True, epochs=3)
    together = train_repeats(cfg, windows, [1, 2, 3], CPU, patience=None, engine=engine)
    alone = train_repeats(cfg, windows, [2], CPU, patience=None, engine="sequential")
    np.testing.assert_allclose(together.val[1], alone.val[0], rtol=1e-5)


SYNTH = prepare(Data(source="synthetic", window=6))


@pytest.mark.parametrize(
    "over",
    [
        dict(),
        dict(layers=3, dropout=0.3),
        dict(weight_decay=1e-2, optimizer="adamw"),
        dict(weight_decay=1e-3, optimizer="adam", layers=2),
        dict(optimizer="sgd", lr=0.05, loss="mae"),
        dict(optimizer="rmsprop", lr=1e-3),
        dict(batch_size=16, shuffle=True, dropout=0.2, layers=2, epochs=3),  # 2x the steps
        dict(grad_clip=0.05, lr=1e-2, layers=2),
    ],
)
def test_each_ensemble_member_equals_its_single_model(over):
    cfg = config(**{"hidden": 6, "lr": 5e-3, "batch_size": 64, "epochs": 6, **over})
    seeds = [5, 6, 7]
    ensemble = train_repeats(cfg, SYNTH, seeds, CPU, patience=None, engine="vectorized")
    for r, seed in enumerate(seeds):
        single = train_repeats(cfg, SYNTH, [seed], CPU, patience=None, engine="sequential")
        np.testing.assert_allclose(ensemble.train[r], single.train[0], rtol=1e-4)
        np.testing.assert_allclose(ensemble.val[r], single.val[0], rtol=1e-4)
        np.testing.assert_allclose(ensemble.grad_norm[r], single.grad_norm[0], rtol=1e-4)
        np.testing.assert_allclose(ensemble.weight_norm[r], single.weight_norm[0], rtol=1e-5)
        np.testing.assert_allclose(ensemble.train_fit[r], single.train_fit[0], rtol=1e-4)


def test_early_stopped_members_leave_the_others_untouched():
    # lr 0.01 on the toy problem turns validation up at different epochs per seed.
    cfg = config(epochs=500, lr=1e-2)
    seeds = [0, 1, 2, 3]
    ensemble = train_repeats(cfg, TOY, seeds, CPU, patience=20, engine="vectorized")
    assert len({int(n) for n in ensemble.n_epochs_run}) > 1, "members should stop apart"
    for r, seed in enumerate(seeds):
        single = train_repeats(cfg, TOY, [seed], CPU, patience=20, engine="sequential")
        assert ensemble.n_epochs_run[r] == single.n_epochs_run[0]
        np.testing.assert_allclose(*(x.curve(i)[1] for x, i in ((ensemble, r), (single, 0))),
                                   rtol=1e-4)
        assert (ensemble.stops[r] is None) == (single.stops[0] is None)
        # Scored where the repeat stopped, not where the others ended.
        np.testing.assert_allclose(ensemble.train_fit[r], single.train_fit[0], rtol=1e-4)


@pytest.mark.parametrize("engine", ["sequential", "vectorized"])
def test_gap_uses_training_loss_with_dropout_off(engine):
    cfg = config(hidden=8, layers=2, dropout=0.5, lr=5e-3, batch_size=64, epochs=15)
    res = train_repeats(cfg, SYNTH, [0, 1], CPU, patience=None, engine=engine)
    for r in range(2):
        # Dropout inflates the per-epoch training curve; the last weights with dropout off
        # fit the training windows better than that curve says.
        assert 0 < res.train_fit[r] < res.train[r, -1]


def test_auto_engine_records_its_choice():
    res = train_repeats(config(epochs=2), TOY, [0, 1, 2], CPU)
    assert res.engine["engine"] in ("sequential", "vectorized")
    assert set(res.engine["ms_per_step"]) == {"sequential", "vectorized"}
    assert "ms" in res.engine["why"]



def test_reports_are_bounded_and_can_stop_every_repeat():
    seen = []

    def on_report(epoch, mean_val):
        seen.append((epoch, mean_val))
        return epoch >= 30

    res = train_repeats(config(epochs=100), TOY, [0, 1], CPU, report_every=10,
                        on_report=on_report)
    assert [e for e, _ in seen] == [10, 20, 30]
    assert res.interrupted_at == 29 and list(res.n_epochs_run) == [30, 30]
    assert seen[-1][1] == pytest.approx(np.mean(res.val[:, 29]))


def test_degradation_stops_a_repeat_and_says_where_it_turned():
    # lr 0.01 on the toy problem drives validation to a sharp minimum, then up.
    res = train_repeats(config(epochs=600, lr=1e-2), TOY, [0, 1, 2], CPU, patience=20,
                        min_rise=0.1)
    stopped = [s for s in res.stops if s is not None]
    assert stopped, "expected at least one repeat to turn within 600 epochs"
    for r, s in enumerate(res.stops):
        if s is None:
            continue
        assert res.n_epochs_run[r] == s.epoch + 1 < 600
        assert np.isnan(res.val[r, s.epoch + 1:]).all()
        assert "rose" in s.reason and s.turn_epoch < s.epoch


def test_gradient_clipping_bounds_the_step_but_records_the_raw_norm():
    cfg = config(epochs=5, lr=1e-2, hidden=4)
    free = train_repeats(cfg, TOY, [0], CPU, patience=None, engine="sequential")
    clipped = train_repeats({**cfg, "grad_clip": 1e-3}, TOY, [0], CPU, patience=None,
                            engine="sequential")
    assert free.grad_norm[0, 0] == clipped.grad_norm[0, 0] > 1e-3  # norm before clipping
    assert not np.allclose(free.val[0, 1:], clipped.val[0, 1:])
    assert np.isfinite(free.weight_norm[0]).all()


def test_nan_loss_stops_the_repeat_as_diverged():
    res = train_repeats(config(epochs=30, lr=1e6, optimizer="sgd"), TOY, [0], CPU)
    assert res.stops[0] is not None and "non-finite" in res.stops[0].reason
    assert diagnose_run(*res.curve(0)).label is Label.DIVERGED


@pytest.mark.parametrize(
    "over, why",
    [
        (dict(epochs=100), "still falling"),  # the tutorial's first underfit example
        (dict(epochs=300, hidden=1, optimizer="sgd", lr=0.01, loss="mae"), "naive forecast"),
    ],
)
def test_tutorial_underfit_configs_are_underfit(over, why):
    cfg = config(**over)
    res = train_repeats(cfg, TOY, [0, 1, 2], CPU, patience=None)
    runs = [diagnose_run(*res.curve(r), baseline=TOY.baseline(cfg["loss"])) for r in range(3)]
    verdict = diagnose_trial(runs)
    assert verdict.label is Label.UNDERFIT and why in verdict.reason


def test_resolve_device():
    assert resolve_device("cpu") == CPU
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(SpecError, match="--device must be"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(SpecError, match="no CUDA device is available"):
            resolve_device("cuda")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_closely():
    cfg = config(epochs=50)
    cpu = train_repeats(cfg, TOY, [0, 1], CPU, patience=None)
    gpu = train_repeats(cfg, TOY, [0, 1], torch.device("cuda"), patience=None)
    np.testing.assert_allclose(gpu.val, cpu.val, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("engine", ["sequential", "vectorized"])
def test_a_repeats_checkpoint_is_the_same_seed_retrained_alone_to_its_best_epoch(engine):
    cfg = config(epochs=150, lr=1e-2, hidden=6, dropout=0.1)
    res = train_repeats(cfg, TOY, [3, 4, 5], CPU, patience=None, engine=engine)
    assert min(res.best_epoch) < 150  # some repeat is restored to an earlier epoch
    for r, seed in enumerate([3, 4, 5]):
        best = int(res.best_epoch[r])
        assert 1 <= best <= 150 and res.val[r, best - 1] == np.nanmin(res.val[r])
        again = train_repeats({**cfg, "epochs": best}, TOY, [seed], CPU, patience=None,
                              engine="sequential")
        assert again.best_epoch[0] == best
        for name, value in again.states[0].items():
            torch.testing.assert_close(res.states[r][name], value, rtol=1e-4, atol=1e-6)


def test_a_vectorized_members_checkpoint_equals_the_sequential_runs():
    cfg = config(hidden=5, layers=2, dropout=0.2, batch_size=32, shuffle=True, epochs=8,
                 lr=5e-3)
    seeds = [7, 8, 9]
    vec = train_repeats(cfg, SYNTH, seeds, CPU, patience=None, engine="vectorized")
    seq = train_repeats(cfg, SYNTH, seeds, CPU, patience=None, engine="sequential")
    np.testing.assert_array_equal(vec.best_epoch, seq.best_epoch)
    for r in range(len(seeds)):
        assert set(vec.states[r]) == set(seq.states[r])
        for name in seq.states[r]:
            torch.testing.assert_close(vec.states[r][name], seq.states[r][name], rtol=1e-4,
                                       atol=1e-6)
        # The checkpoint is a plain LSTMRegressor state dict.
        build(1, 5, 2, 0.2, "keras", 0).load_state_dict(vec.states[r])


def test_checkpoints_survive_a_repeat_that_stops_early():
    cfg = config(epochs=500, lr=1e-2)
    res = train_repeats(cfg, TOY, [0, 1, 2, 3], CPU, patience=20, engine="vectorized")
    for r in range(4):
        n = int(res.n_epochs_run[r])
        assert 1 <= res.best_epoch[r] <= n
        assert res.val[r, res.best_epoch[r] - 1] == np.nanmin(res.val[r, :n])


@pytest.mark.parametrize("engine", ["sequential", "vectorized"])
def test_final_weights_come_back_too(engine):
    cfg = config(epochs=6, hidden=4)
    res = train_repeats(cfg, TOY, [0, 1], CPU, patience=None, engine=engine)
    longer = train_repeats({**cfg, "epochs": 6}, TOY, [1], CPU, patience=None,
                           engine="sequential")
    for name, value in longer.final_states[0].items():
        torch.testing.assert_close(res.final_states[1][name], value, rtol=1e-4, atol=1e-6)


def _frame_windows():
    import pandas as pd

    n = 120
    frame = pd.DataFrame({"y": np.sin(np.arange(n) / 4), "z": np.cos(np.arange(n) / 7),
                          "p": np.sin(np.arange(n) / 9), "f": np.arange(n) % 5 * 1.0})
    return prepare(Data(source=frame, target=["y", "z"], past_covariates=["p"],
                        future_covariates=["f"], window=6, horizon=3))


@pytest.mark.parametrize("over", [dict(), dict(layers=2, dropout=0.2, batch_size=16, shuffle=True)])
def test_with_covariates_and_several_outputs_each_member_equals_its_single_model(over):
    windows = _frame_windows()
    assert (windows.task.n_inputs, windows.task.n_known, windows.task.n_outputs) == (4, 3, 6)
    cfg = config(**{"hidden": 5, "lr": 5e-3, "batch_size": 64, "epochs": 6, **over})
    ensemble = train_repeats(cfg, windows, [1, 2], CPU, patience=None, engine="vectorized")
    for r, seed in enumerate([1, 2]):
        single = train_repeats(cfg, windows, [seed], CPU, patience=None, engine="sequential")
        np.testing.assert_allclose(ensemble.val[r], single.val[0], rtol=1e-4)
        for name, value in single.states[0].items():
            torch.testing.assert_close(ensemble.states[r][name], value, rtol=1e-4, atol=1e-6)
    assert single.states[0]["head.weight"].shape == (6, 5 + 3)  # hidden + known -> outputs
