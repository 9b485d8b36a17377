"""US real GDP growth a year ahead, from the economy's own recent quarters (bundled; FRED and
BLS via statsmodels' macrodata, 1959-2009).

Several inputs and a multi-step horizon: the LSTM reads two years (8 quarters) of GDP growth
with five past covariates (consumption and investment growth, unemployment, the 3-month
treasury bill rate, inflation), which are known only up to the forecast time, and forecasts
the next 4 quarters at once. The quarter of the year is a future covariate: known ahead, it is
also given for the 4 quarters forecast. The last 10% of windows are a test period.
"""

from sweeper import Data, FloatRange, IntRange, Space, Study

study = Study(
    name="macro",
    data=Data(
        source="macro",                 # sweeper/datasets/macro.csv
        time="date",                    # the quarter's first day: parsed, checked for gaps
        target="gdp_growth",            # annualized quarter-on-quarter growth, percent
        past_covariates=["cons_growth", "inv_growth", "unemp", "tbilrate", "infl"],
        future_covariates=["q"],        # quarter of the year, 1-4
        window=8, horizon=4,            # two years in, the next year out
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
