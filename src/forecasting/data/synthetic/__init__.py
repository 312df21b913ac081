"""Synthetic CRMs whose truth is known: the demo company and the world zoo share these generators."""
