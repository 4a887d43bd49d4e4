"""The learned proposer: a linear-chain CRF (CRFsuite, through ``python-crfsuite``) trained on
the project's own gold, stacked on the rules proposer.

Training (:func:`train`) turns each gold document into sequences of code points of the
normalized text with BIO tags, and the features of :mod:`workbench.propose.features`
(characters and neighbours, jieba words and POS tags, the suffix lexicons, and the rules
proposer's own labels). The model file's bytes are stored in the database
(``workbench train``; ``store.save_model``); its version is a hash of those bytes.

Proposing (:class:`LearnedProposer`, registered as ``learned``): the rules run first, the
CRF tags the text with their labels among its features. The spans of :data:`RULE_LABELS`
are the rules' as they are; for the other labels the rules' spans stay unless the model
gives them less than :data:`DROP_BELOW` (spurious), and the model's own spans are added
where the rules have none from :data:`ADD_FROM` on (missed). Where both have a span the
rules' boundaries stay: the issue measured that a learned layer fixes missed and spurious
names, not boundary conventions. Every proposal's score is the model's marginal probability
of the span (the smallest marginal of its characters' tags, ``Tagger.marginal``), the rules'
spans included, so low-confidence spans can be sorted first.

Per label, measured with ``workbench train --cv 5`` on the dev gold (five reports,
leave-one-document-out, README "Benchmarks"): QUANTITY stays with the rules (its attrs
come from the number grammar; rules 1.000), and so do DATE and DOC (rules 1.000, nothing to
gain). PERSON, ORG, LOC and PROGRAM go through the model: the CRF alone is below the rules
there (LOC 0.877 against 0.892, PROGRAM 0.922 against 0.936, PERSON and ORG equal), which is
why it only drops and adds. On the dev gold it then equals the rules (0.958 micro, with
``ADD_FROM`` 0.7 it added one wrong PROGRAM: 0.957); the rules were written against these
five reports, so the gain is to be measured on other ones.

Pure library: no store import (``workbench.propose.run`` hands the proposer the store,
:meth:`LearnedProposer.for_store`), no Textual; ``pycrfsuite`` is imported only when a
model is trained or used.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..core.labels import LABELS, SCHEMA_NAME
from . import ProposerUnavailable
from .features import FEATURES_VERSION, decode, sequences, span_tags, tags_of_span, text_features

MODEL_NAME = "crf"
# tags over code points: "BIO" or "BILOU"
TAG_SCHEME = "BIO"
# labels whose spans (and attrs) come from the rules proposer; the model scores them
RULE_LABELS: tuple[str, ...] = ("QUANTITY", "DATE", "DOC")
# a rules span the model gives less than this is dropped (spurious); a model span where the
# rules have none is added from this score on (missed)
DROP_BELOW = 0.2
ADD_FROM = 0.9
# the model may drop (veto) the rules' spans of a label only where the rules were not precise
# on the training gold: below this exact precision, or with too few spans to tell. Where the
# rules are precise a veto can only cost (measured on the dev gold, leave-one-document-out:
# every veto hit a correct span of rules the model had not seen at work)
VETO_PRECISION = 0.95
VETO_MIN_SPANS = 20
TRAIN_PARAMS: dict[str, Any] = {
    "c1": 0.05,
    "c2": 0.01,
    "max_iterations": 150,
    "feature.possible_transitions": True,
}
INSTALL_HINT = "install python-crfsuite (pip install python-crfsuite)"


class TrainingError(ValueError):
    """Training cannot go on as asked (no gold, nothing to learn); one line for the user."""


def crfsuite():
    """The ``pycrfsuite`` module, or :class:`ProposerUnavailable` saying what to install."""
    try:
        import pycrfsuite
    except ImportError:
        raise ProposerUnavailable(f"the learned proposer needs the CRF package: {INSTALL_HINT}") from None
    return pycrfsuite


def _rules():
    from . import get_proposer

    return get_proposer("rules")


def flat_spans(spans: Iterable[dict]) -> tuple[list[dict], int]:
    """Spans without overlaps (the longer kept, then the earlier), and how many were dropped:
    BIO tags cannot hold nested spans."""
    order = sorted(spans, key=lambda s: (-(s["end"] - s["start"]), s["start"]))
    taken: list[tuple[int, int]] = []
    out, dropped = [], 0
    for s in order:
        if any(s["start"] < e and b < s["end"] for b, e in taken):
            dropped += 1
            continue
        taken.append((s["start"], s["end"]))
        out.append(s)
    out.sort(key=lambda s: (s["start"], s["end"]))
    return out, dropped


class _Analysis:
    """What the rules and jieba say about a text, computed once per text."""

    __slots__ = ("rule_spans", "feats", "words")

    def __init__(self, text: str):
        # the rules' spans and jieba's word starts (one segmentation pass for both)
        self.rule_spans, self.words = _rules().analyze(text)
        self.feats = text_features(text, self.words, self.rule_spans)


def training_sequences(
    docs: Iterable[dict], scheme: str = TAG_SCHEME, rules_seen: dict | None = None
) -> Iterable[tuple[list[list[str]], list[str]]]:
    """(features, tags) of every sequence of the documents ``{"text", "spans"}``.
    ``rules_seen``: filled with label → [rules' spans, of them exactly in the gold]."""
    for d in docs:
        text = d["text"]
        spans, _ = flat_spans(s for s in d["spans"] if s["label"] in LABELS)
        a = _Analysis(text)
        if rules_seen is not None:
            gold = {(s["start"], s["end"], s["label"]) for s in d["spans"]}
            for r in a.rule_spans:
                c = rules_seen.setdefault(r["label"], [0, 0])
                c[0] += 1
                c[1] += (r["start"], r["end"], r["label"]) in gold
        feats = a.feats
        tags = span_tags(len(text), spans, scheme)
        for x, y in sequences(text):
            yield feats[x:y], tags[x:y]


def veto_labels(rules_seen: dict) -> list[str]:
    """The labels whose rules' spans the model may drop: where the rules' exact precision on
    the training gold is below :data:`VETO_PRECISION`, or they made fewer than
    :data:`VETO_MIN_SPANS` spans there (too few to tell)."""
    out = []
    for label in LABELS:
        n, right = rules_seen.get(label, [0, 0])
        if n < VETO_MIN_SPANS or right / n < VETO_PRECISION:
            out.append(label)
    return out


def train(docs: Sequence[dict], *, params: dict | None = None, scheme: str = TAG_SCHEME) -> tuple[bytes, dict]:
    """Train a CRF on documents ``{"id", "text", "spans"}``; returns the model's bytes and its
    figures (documents, characters, spans per label, seconds, features). Raises
    :class:`TrainingError` with nothing to learn from, :class:`ProposerUnavailable` without
    the CRF package."""
    pycrfsuite = crfsuite()
    if not docs:
        raise TrainingError("no gold to train on")
    counts = dict.fromkeys(LABELS, 0)
    dropped = 0
    for d in docs:
        flat, k = flat_spans(s for s in d["spans"] if s["label"] in LABELS)
        dropped += k
        for s in flat:
            counts[s["label"]] += 1
    if not any(counts.values()):
        raise TrainingError(f"the {len(docs)} training document(s) hold no span of the labels {', '.join(LABELS)}")
    t0 = time.perf_counter()
    trainer = pycrfsuite.Trainer(verbose=False)
    n_chars = 0
    rules_seen: dict = {}
    for xseq, yseq in training_sequences(docs, scheme, rules_seen):
        trainer.append(xseq, yseq)
        n_chars += len(yseq)
    trainer.set_params({**TRAIN_PARAMS, **(params or {})})
    fd, path = tempfile.mkstemp(prefix=".workbench-crf-", suffix=".model")
    os.close(fd)
    try:
        trainer.train(path)
        with open(path, "rb") as fh:
            data = fh.read()
    finally:
        os.unlink(path)
    figures = {
        "documents": len(docs),
        "characters": n_chars,
        "spans": counts,
        "overlapping_spans_dropped": dropped,
        "seconds": round(time.perf_counter() - t0, 2),
        "iterations": trainer.logparser.last_iteration.get("num") if trainer.logparser.last_iteration else None,
        # the rules on the training gold: label -> [spans, exactly right]; where the model may veto
        "rules_on_training": rules_seen,
        "veto_labels": veto_labels(rules_seen),
    }
    return data, figures


def model_params(params: dict | None = None, scheme: str = TAG_SCHEME) -> dict:
    """What a model row records about how it was made (checked when it is used)."""
    return {
        "schema": SCHEMA_NAME,
        "features": FEATURES_VERSION,
        "tags": scheme,
        "rule_labels": list(RULE_LABELS),
        "train": {**TRAIN_PARAMS, **(params or {})},
    }


class LearnedProposer:
    """The ``learned`` proposer. Unbound (as the registry makes it) it has no model;
    :meth:`for_store` gives one bound to the database's latest model, :meth:`from_bytes` one
    over a model's bytes (benchmarks, cross-validation). ``rule_labels``: the labels taken
    from the rules (default :data:`RULE_LABELS`)."""

    name = "learned"
    version = "latest"  # unbound; bound: the model's version (a hash of its bytes)
    labels: tuple[str, ...] = LABELS

    def __init__(
        self,
        data: bytes | None = None,
        version: str | None = None,
        rule_labels: Iterable[str] | None = None,
        scheme: str = TAG_SCHEME,
        veto: Iterable[str] | None = None,
    ):
        self._data = data
        self.scheme = scheme
        self._tagger: Any = None
        if version is not None:
            self.version = version
        self.rule_labels = frozenset(RULE_LABELS if rule_labels is None else rule_labels)
        # labels whose rules' spans the model may drop (a model of before veto_labels: all)
        self.veto = frozenset(LABELS if veto is None else veto)
        self.drop_below = DROP_BELOW
        self.add_from = ADD_FROM

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        version: str = "local",
        rule_labels: Iterable[str] | None = None,
        scheme: str = TAG_SCHEME,
        veto: Iterable[str] | None = None,
    ) -> LearnedProposer:
        return cls(data, version, rule_labels, scheme, veto)

    def for_store(self, store) -> LearnedProposer:
        """This proposer over the store's latest ``crf`` model. :class:`ProposerUnavailable`
        (one line saying what to do) when there is none, it was trained on another label set
        or other features, or the CRF package is missing."""
        row = store.latest_model(MODEL_NAME)
        if row is None:
            raise ProposerUnavailable(f"no trained model in {store.path} yet: run 'workbench train' first")
        check_model(row)
        crfsuite()
        data = store.model_data(row["id"])
        p = LearnedProposer(
            data,
            row["version"],
            row["params"].get("rule_labels"),
            row["params"]["tags"],
            row["figures"].get("veto_labels"),
        )
        p.tagger()  # a damaged model fails here, before any proposal is written
        return p

    # a bound proposer is sent to worker processes (propose --jobs) as its model's bytes
    def __getstate__(self) -> dict:
        return {
            "data": self._data,
            "version": self.version,
            "rule_labels": sorted(self.rule_labels),
            "scheme": self.scheme,
            "veto": sorted(self.veto),
        }

    def __setstate__(self, st: dict) -> None:
        self.__init__(st["data"], st["version"], st["rule_labels"], st["scheme"], st.get("veto"))  # type: ignore[misc]

    def tagger(self):
        if self._tagger is None:
            if self._data is None:
                raise ProposerUnavailable("no trained model: run 'workbench train' first")
            t = crfsuite().Tagger()
            try:
                t.open_inmemory(self._data)
            except (ValueError, OSError) as e:
                raise ProposerUnavailable(
                    f"the stored model {self.version} cannot be read ({e}); retrain: workbench train"
                ) from None
            self._tagger = t
        return self._tagger

    def analyze(self, text: str) -> tuple[list[dict], list[int]]:
        a = _Analysis(text)
        return self._propose(text, a), a.words

    def propose(self, text: str) -> list[dict]:
        return self._propose(text, _Analysis(text))

    def model_spans(self, text: str, a: _Analysis | None = None, score: Sequence[dict] = ()) -> list[dict]:
        """The CRF's own spans (every label), scored; the spans ``score`` (of other origin)
        get the model's marginal of their tags as their score too (those of a label the
        model has no tags for keep theirs)."""
        a = a or _Analysis(text)
        out: list[dict] = []
        tg = self.tagger()
        known = set(tg.labels())
        others = sorted(score, key=lambda s: s["start"])
        k = 0
        for s0, e0 in sequences(text):
            tg.set(a.feats[s0:e0])
            tags = tg.tag()
            for s, e, label in decode(tags):
                out.append(_span(text, s0 + s, s0 + e, label, _marginal(tg, label, s, e, self.scheme)))
            while k < len(others) and others[k]["start"] < e0:
                o = others[k]
                k += 1
                ok = o["start"] >= s0 and o["end"] <= e0
                ok = ok and set(tags_of_span(o["label"], o["end"] - o["start"], self.scheme)) <= known
                o["_scored"] = ok
                if ok:
                    o["score"] = _marginal(tg, o["label"], o["start"] - s0, o["end"] - s0, self.scheme)
        return out

    def _propose(self, text: str, a: _Analysis) -> list[dict]:
        """The rules' spans of :attr:`rule_labels` as they are; for the other labels the
        rules' spans, scored by the model, less those the model is sure are wrong (score
        below :data:`DROP_BELOW`; only for the :attr:`veto` labels, where the rules were not
        precise on the training gold); plus the model's own spans where the rules have none
        (score at least :data:`ADD_FROM`). Boundaries where both have a span stay the
        rules': the model fixes missed and spurious names, not boundary conventions."""
        rules = [dict(s) for s in a.rule_spans]
        model = self.model_spans(text, a, score=rules)
        kept = [
            s
            for s in rules
            if s["label"] in self.rule_labels
            or s["label"] not in self.veto
            or s.get("_scored") is False
            or s["score"] >= self.drop_below
        ]
        taken = sorted((s["start"], s["end"]) for s in rules)
        added = [
            s
            for s in model
            if s["label"] not in self.rule_labels
            and s["score"] >= self.add_from
            and not _overlaps(taken, s["start"], s["end"])
        ]
        out = kept + added
        for s in out:
            s.pop("_scored", None)
        out.sort(key=lambda s: (s["start"], s["end"]))
        return out


def _span(text: str, s: int, e: int, label: str, score: float) -> dict:
    d: dict = {"start": s, "end": e, "label": label, "text": text[s:e], "score": score}
    if label == "QUANTITY":
        from ..core.quantity import derive_attrs

        d["attrs"] = derive_attrs(text[s:e]) or {"value": None, "unit": None, "approx": None}
    return d


def _overlaps(taken: list[tuple[int, int]], s: int, e: int) -> bool:
    return any(a < e and s < b for a, b in taken)


def _marginal(tg, label: str, s: int, e: int, scheme: str) -> float:
    """The smallest marginal probability of the span's tags (``Tagger.marginal``): an upper
    bound of the probability that the model tags exactly this span."""
    m = 1.0
    for i, t in enumerate(tags_of_span(label, e - s, scheme)):
        m = min(m, tg.marginal(t, s + i))
    return round(max(0.0, min(1.0, m)), 4)


def check_model(row: dict) -> None:
    """:class:`ProposerUnavailable` unless the model row fits this workbench (label set,
    features)."""
    labels = list(row.get("labels") or [])
    if labels != list(LABELS):
        raise ProposerUnavailable(
            f"model {row['version']} was trained on another label set ({', '.join(labels) or 'none'}; "
            f"this workbench uses {', '.join(LABELS)}): retrain with 'workbench train'"
        )
    params = row.get("params") or {}
    if params.get("features") != FEATURES_VERSION or params.get("tags") not in ("BIO", "BILOU"):
        raise ProposerUnavailable(
            f"model {row['version']} was trained with features v{params.get('features')} (this workbench: "
            f"v{FEATURES_VERSION}): retrain with 'workbench train'"
        )


# ---------------------------------------------------------------------------- cross-validation


def folds(ids: Sequence[str], k: int) -> list[list[str]]:
    """``k`` folds of the ids, dealt round-robin in the given order (deterministic)."""
    k = max(2, min(k, len(ids)))
    return [list(ids[i::k]) for i in range(k)]


def cross_validate(
    docs: Sequence[dict],
    k: int,
    *,
    progress: Callable[[int, int], None] | None = None,
    params: dict | None = None,
    scheme: str = TAG_SCHEME,
    extra: Sequence[dict] = (),
) -> dict:
    """``k``-fold cross-validation over the documents ``{"id", "text", "spans"}`` (``extra``:
    more training documents, in the training part of every fold, never scored): for each
    fold, train on the others and propose the fold with ``rules``, the CRF alone (``crf``,
    every label from the model) and ``learned`` (the CRF with :data:`RULE_LABELS` from the
    rules). Returns ``{"folds", "documents", "results": {system: evaluate(...)}, "seconds"}``
    (exact and overlap figures of :func:`workbench.evaluate.evaluate` over all folds)."""
    from ..evaluate import evaluate

    if len(docs) < 2:
        raise TrainingError(f"cross-validation needs at least 2 gold documents, the database has {len(docs)}")
    by_id = {d["id"]: d for d in docs}
    parts = folds([d["id"] for d in docs], k)
    preds: dict[str, dict[str, list[dict]]] = {"rules": {}, "crf": {}, "learned": {}}
    t0 = time.perf_counter()
    for n, part in enumerate(parts):
        train_docs = [by_id[i] for i in by_id if i not in part] + list(extra)
        data, figs = train(train_docs, params=params, scheme=scheme)
        p = LearnedProposer.from_bytes(data, scheme=scheme, veto=figs["veto_labels"])
        for i in part:
            text = by_id[i]["text"]
            a = _Analysis(text)
            preds["rules"][i] = a.rule_spans
            preds["crf"][i] = p.model_spans(text, a)
            preds["learned"][i] = p._propose(text, a)
        if progress is not None:
            progress(n + 1, len(parts))
    gold = {d["id"]: d["spans"] for d in docs}
    return {
        "folds": len(parts),
        "documents": len(docs),
        "results": {name: evaluate(gold, pr, LABELS) for name, pr in preds.items()},
        "seconds": round(time.perf_counter() - t0, 2),
    }


__all__ = [
    "MODEL_NAME",
    "RULE_LABELS",
    "LearnedProposer",
    "TrainingError",
    "check_model",
    "cross_validate",
    "folds",
    "model_params",
    "train",
]
