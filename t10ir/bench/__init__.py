"""The evaluation of T10ir: models x batches x targets x strategies compiled with
`t10-compile`, run on the simulated chip and tabulated (`t10-bench`)."""
