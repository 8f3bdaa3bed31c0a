"""turnmem's eval harness: evidence recall versus token cost for every context strategy.

``from eval import run, load_locomo`` in a notebook; ``turnmem eval ...`` on the command line.
"""

from eval.answers import AnswerConfig
from eval.datasets import (
    Conversation,
    Dataset,
    Question,
    Session,
    Turn,
    load_dataset,
    load_locomo,
    load_longmemeval,
)
from eval.metrics import QuestionRecord
from eval.report import SUMMARY_COLUMNS
from eval.runner import DEFAULT_BUDGETS, DEFAULT_STRATEGIES, RunResult, run
from eval.strategies import Strategy, StrategyInput, StrategyOutput, available, get_strategy, register

__all__ = [
    "AnswerConfig",
    "DEFAULT_BUDGETS",
    "DEFAULT_STRATEGIES",
    "SUMMARY_COLUMNS",
    "Conversation",
    "Dataset",
    "Question",
    "QuestionRecord",
    "RunResult",
    "Session",
    "Strategy",
    "StrategyInput",
    "StrategyOutput",
    "Turn",
    "available",
    "get_strategy",
    "load_dataset",
    "load_locomo",
    "load_longmemeval",
    "register",
    "run",
]
