"""Pretraining beyond labelled data: self-supervised (contrastive), teacher/student distillation, weak labels."""
