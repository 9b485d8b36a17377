"""Yearly sunspot numbers, 1700-2008 (bundled; NOAA NGDC via statsmodels).

The solar cycle is about 11 years, so a window of 11 years holds one cycle. The last 10% of
windows (about 30 years) are a test period, scored once at the end; the 20% before them
validate; scaling is fit on the training years only.
"""

from sweeper import Data, FloatRange, IntRange, Space, Study

study = Study(
    name="sunspots",
    data=Data(source="sunspots", window=11, val_fraction=0.2, test_fraction=0.1,
              scale="standard"),
    space=Space(
        hidden=IntRange(4, 64, log=True),
        layers=IntRange(1, 2),
        dropout=FloatRange(0.0, 0.5),
        weight_decay=FloatRange(1e-6, 1e-2, log=True),
        epochs=IntRange(50, 300, step=50),
        lr=FloatRange(3e-4, 1e-2, log=True),  # searched: the right rate depends on batch size
        batch_size=32,
    ),
    repeats=3,
    screen=True,
    n_trials=30,
    gap_penalty=1.0,
    spread_penalty=1.0,
    pruner="median",
    seed=0,
)
