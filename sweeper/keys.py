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

# Trial user attrs: the score and its parts (score = val_loss + penalty; see objective).
# The delivered model's validation loss (Study.validation "delivered", the default), or the
# mean over repeats of each one's last 5-epoch validation loss ("final").
VAL_LOSS = "val_loss"
TRAIN_LOSS = "train_loss"  # mean over repeats, last weights, dropout off
GAP = "gap"  # validation - training (informational, not penalized)
OVERFIT_GAP = "overfit_gap"  # validation's final level above its best, on overfit repeats
# Standard error over repeats of their validation losses: at their best epochs ("delivered"),
# or their last 5-epoch means ("final").
SPREAD = "spread"
PENALTY = "penalty"  # gap_penalty * overfit_gap + spread_penalty * spread

# Trial user attrs: how the trial ran.
CONFIG = "config"  # every hyperparameter, searched or fixed
SEEDS = "seeds"
DEVICE = "device"
ENGINE = "engine"  # {"engine": "vectorized" | "sequential", "why": ..., "ms_per_step": ...}
BEST_EPOCH = "best_epoch"
# per repeat: None or {"epoch", "turn_epoch", "kind" (degraded | diverged), "reason"}
EARLY_STOP = "early_stop"
# {"train", "val", "grad_norm", "weight_norm", and "val_<metric>" where the task has metrics
# (val_accuracy, ...)}: per repeat, per epoch it trained.
CURVES = "curves"
# seconds: train_s, diagnosis_s (the delivered model's validation loss, diagnosis and
# score), storage_s (reports, pruning and the record), review_s (figure and note), model_s
# (the model file)
TIMING = "timing"
PRUNE_REASON = "prune_reason"
REVIEW_ERROR = "review_error"  # why the trial's figure or note could not be saved
FAIL_REASON = "fail_reason"
WORKER = "worker"  # {"host", "pid"} of the process running the trial
HEARTBEAT = "heartbeat"  # unix time, refreshed while running (journal storage only)
RETRY_OF = "retry_of"  # number of the trial whose configuration this one runs again
RETRY_REASON = "retry_reason"  # why that trial was taken as abandoned, when it could not say
# A child queued by its parent's verdict (see repair): the parent's number, the move's name,
# what it changed ("dropout 0.1 -> 0.25"), the parent's label and score when it was queued, and
# the problem the move answers ("plateau"; "" for a move drawn at random)
PARENT = "parent"
MOVE = "move"
MOVE_DETAIL = "move_detail"
PARENT_LABEL = "parent_label"
PARENT_SCORE = "parent_score"
PROBLEM = "problem"
LINEAGE = (PARENT, MOVE, MOVE_DETAIL, PARENT_LABEL, PARENT_SCORE, PROBLEM)
# On the parent: {"move", "detail", "policy", "why"}, or {"why"} when no child was queued
REPAIR = "repair"

# Trial user attrs: the delivered model (the repeats at their best validation epochs).
# {"val_loss": the averaged prediction's validation loss, "repeat_val_loss": [...],
#  "best_epochs": [...], "scores": the task's metrics of that prediction ({} for numbers)}
DELIVERED = "delivered"
# The same metrics one attr each ("val_accuracy", "val_macro_f1"): a column of their own in
# optuna-dashboard's trial table and in trials_dataframe().
VAL_METRIC = "val_{}"
# {"artifact_id", "file", "bytes", "keep"}: the model file, an artifact of the trial, kept
# whole while the trial is among the Study.keep_models (`keep`) best (then cut to a note)
MODEL = "model"

# Study user attrs.
STUDY_SPEC = "spec"
# The task's baseline (for forecasts the naive forecast) on validation, per loss it can be
# scored with: {"mse": ..., "mae": ...}, or {"cross-entropy": ...} for classes.
STUDY_BASELINE = "baseline"
STUDY_SEARCHED = "searched"  # names of the searched parameters: a whole configuration
# What the trials are judged on, checked when the study resumes (see resume):
# {"settings": the data spec, "fingerprint": of every window, "summary": what was read}
STUDY_DATA = "data"
STUDY_FIXED = "fixed"  # the space's fixed values and the score's settings
# Each loss a trial can be scored with -> that loss with its unit ("mse" -> "scaled mse": of
# the targets scaled as they are trained; losses in the data's own units are in STUDY_WORTH)
STUDY_UNITS = "units"
# The best trial's delivered model scored once on the test split: {"trial", "loss",
# "delivered", "repeats": [...], "naive": the baseline's loss, "baseline": its name,
# "n_windows"}, and for classes "scores" and "majority" (the majority class's accuracy)
STUDY_TEST = "test"
# The delivered model the sweep chose from the kept runs on validation (see selection):
# {"how": "best trial" | "top k trials" | "greedy ensemble", "reason", "best_trial",
#  "members": [{"trial", "repeat", "weight"}], "held_out": {challenger: [loss ratio to the best
#  trial on each half]}, "val_loss", "best_trial_val_loss", "n_runs", "n_trials", "left_out",
#  "intervals": {level: [scaled half-width per output]}}
STUDY_DELIVERY = "delivery"
# The delivered model beside the baselines on the same windows (see worth): {"model", "loss",
# "unit", "targets", "left_out", "splits": {split: {name: {"loss", "units": {target: {...}}}}},
# "coverage": {level: share of test targets inside}, "verdicts": {split: {"best", "skill", ...}}}
STUDY_WORTH = "worth"

METRIC_NAME = "score"  # the name of the study's one objective value, as Optuna shows it
