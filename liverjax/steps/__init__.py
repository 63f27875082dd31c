"""Pure, jitted training steps and epochs: the classifier's and the GANs'."""
