"""The visual Turing test (python -m liverjax.tools.turing): readers tell real from synthetic
ROIs on a web page; their answers live in W/turing/study.sqlite (:mod:`.store`), the page is
:mod:`.app`, the draw :mod:`.study`, the statistics :mod:`liverjax.evaluation.turing`."""
