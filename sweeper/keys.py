"""Names under which sweeper stores things on Optuna trials and studies.

Every reader (report, tests, dashboards, user scripts) goes through these constants, so a stored
key is spelled in exactly one place.
"""

# Trial user attrs: the judgment.
LABEL = "label"  # trial label: underfit / good / overfit / diverged
REPEAT_LABELS = "repeat_labels"  # one label per seeded repeat
AGREEMENT = "agreement"  # e.g. "3/3 repeats overfit"
CONFIDENCE = "confidence"  # share of repeats that agree with the label
REASON = "reason"  # one sentence with numbers
RECOMMENDATION = "recommendation"
EVIDENCE = "evidence"  # per-repeat numbers the label rests on

# Trial user attrs: the score and its parts (score = val_loss + penalty).
VAL_LOSS = "val_loss"
TRAIN_LOSS = "train_loss"
GAP = "gap"
OVERFIT_GAP = "overfit_gap"
SPREAD = "spread"  # standard error of val_loss over repeats
PENALTY = "penalty"
SCORE = "score"

# Trial user attrs: how the trial ran.
CONFIG = "config"  # every hyperparameter, searched or fixed
SEEDS = "seeds"
DEVICE = "device"
ENGINE = "engine"  # {"engine": "vectorized" | "sequential", "why": ..., "ms_per_step": ...}
BEST_EPOCH = "best_epoch"
EARLY_STOP = "early_stop"  # per repeat: None or {"epoch", "turn_epoch", "reason"}
# {"train", "val", "grad_norm", "weight_norm"}: per repeat, per epoch it trained.
CURVES = "curves"
TIMING = "timing"  # seconds: training, diagnosis, storage calls, figure and note
PRUNE_REASON = "prune_reason"
REVIEW_ERROR = "review_error"  # why the trial's figure or note could not be saved
FAIL_REASON = "fail_reason"
WORKER = "worker"  # {"host", "pid"} of the process running the trial
HEARTBEAT = "heartbeat"  # unix time, refreshed while running (journal storage only)
RETRY_OF = "retry_of"  # number of the trial whose configuration this one runs again
RETRY_REASON = "retry_reason"  # why that trial was taken as abandoned, when it could not say

# Trial user attrs: the delivered model (the repeats at their best validation epochs).
# {"val_loss": the averaged prediction's validation loss, "repeat_val_loss": [...],
#  "best_epochs": [...]}
DELIVERED = "delivered"
# {"artifact_id", "file", "bytes"}: the model file, an artifact of the trial, kept whole while
# the trial is among the Study.keep_models best (then cut to a note saying why)
MODEL = "model"

# Study user attrs.
STUDY_SPEC = "spec"
STUDY_BASELINE = "baseline"  # naive-forecast validation loss per loss function
STUDY_SEARCHED = "searched"  # names of the searched parameters: a whole configuration
# The best trial's delivered model scored once on the test split:
# {"trial", "loss", "delivered", "repeats": [...], "naive", "n_windows"}
STUDY_TEST = "test"

METRIC_NAME = "score"
