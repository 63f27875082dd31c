"""The jobs: the cross-validated classifier experiment (plan -> loop -> summarize,
:mod:`~liverjax.experiment.classifier_job`) and the stand-alone GAN job
(:mod:`~liverjax.experiment.gan_job`), with what they share."""
