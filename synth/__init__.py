"""Synthetic BOP datasets from CAD models: scene sampling, rendering, domain
randomisation, annotation, chunked atomic writing and parallel execution.

Imports only ``rigidpose.objects``, ``rigidpose.bop``, ``rigidpose.geometry`` and
``rigidpose.errors`` from the library (never torch). Entry points: :mod:`synth.run`
(``prepare_job`` / ``run_synth``) and the ``rigidpose synth`` command.
"""
