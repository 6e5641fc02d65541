"""Pure duplicate matching: records in, scores and reasons out (no Django).

- :mod:`.names`: nickname/diminutive tables (Spanish and English) and name folding.
- :mod:`.compare`: :class:`Record`, :func:`prepare`, :func:`compare` (Fellegi–Sunter weights).
- :mod:`.blocking`: :func:`blocking_keys`, :func:`candidate_pairs`, a Spanish-aware phonetic key.
- :mod:`.evaluate`: precision/recall/F1 of blocking + compare against labelled pairs, weight fitting, and
  replays of the production candidate rules (intake, background scan).
- :mod:`.survivorship`: the default per-field choices of a merge.
"""
