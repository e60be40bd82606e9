"""Every built-in prior passes the PriorContract plugin authors use (untrained, so fast)."""

from unclip_core.testing import PriorContract

SMALL = {"width": 32, "depth": 2, "heads": 2}


class TestDiffusionPrior(PriorContract):
    prior_type = "diffusion_prior"
    prior_options = {**SMALL, "timesteps": 50, "sampler": {"type": "ddim", "steps": 5}}


class TestDiffusionPriorEpsDDPM(PriorContract):
    prior_type = "diffusion_prior"
    prior_options = {**SMALL, "timesteps": 50, "prediction": "eps", "samples_per_prompt": 1,
                     "sampler": {"type": "ddpm", "steps": 5}}


class TestDiffusionPriorV(PriorContract):
    prior_type = "diffusion_prior"
    prior_options = {**SMALL, "timesteps": 50, "prediction": "v", "schedule": "linear", "samples_per_prompt": 3,
                     "sampler": {"type": "dpmpp_2m", "steps": 5}}


class TestDiffusionPriorMinSNR(PriorContract):
    """The paper's x0 prior with its loss weighted by min-SNR-gamma."""

    prior_type = "diffusion_prior"
    prior_options = {**SMALL, "timesteps": 50, "min_snr_gamma": 5.0, "sampler": {"type": "ddim", "steps": 5}}


class TestARPrior(PriorContract):
    prior_type = "ar_prior"
    prior_options = {**SMALL, "components": 8, "buckets": 16}


class TestARPriorNucleus(PriorContract):
    prior_type = "ar_prior"
    prior_options = {**SMALL, "components": 6, "buckets": 32, "temperature": 0.7, "top_p": 0.8}


class TestTextAsImage(PriorContract):
    prior_type = "text_as_image"
