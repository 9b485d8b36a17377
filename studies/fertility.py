"""Fertility rates of 20 countries, 1960-2011, three years ahead: several series in one frame
(bundled; the World Bank's World Development Indicators via statsmodels).

One model for every country (a `group` column names each row's series): windows never cross
from one country into the next, every country is split in time order (its last years validate
and test), and each country is scaled with its own training years, so one LSTM learns how
fertility moves whatever its level.
"""

from sweeper import Data, FloatRange, IntRange, Space, Study

study = Study(
    name="fertility",
    data=Data(
        source="fertility",             # sweeper/datasets/fertility.csv
        time="year",
        group="country",                # 20 series in one frame
        target="fertility",             # births per woman
        window=8, horizon=3,
        val_fraction=0.2, test_fraction=0.1,
    ),
    space=Space(
        hidden=IntRange(4, 48, log=True),
        layers=IntRange(1, 2),
        dropout=FloatRange(0.0, 0.5),
        weight_decay=FloatRange(1e-6, 1e-2, log=True),
        epochs=IntRange(20, 200, step=20),
        lr=3e-3,
        batch_size=32,
    ),
    repeats=3,
    n_trials=30,
    seed=0,
)
