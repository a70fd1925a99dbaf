"""Learning from outcomes (SPEC §11): features per labelled lead, a regularised logistic
regression validated on a time-ordered holdout, suggested points and a likelihood per lead.

features.py reads events (streamed, chunk by chunk); model.py fits and measures; suggestion.py
turns weights into points; likelihood.py scores leads; services.py stores runs and drafts."""
