"""The built-in metrics: fid, kid, clip_score, retrieval, prior_cosine, diversity and the shapes oracle."""

from unclip_core import hookimpl

from .clip_score import ClipScore
from .distribution import FID, KID
from .diversity import Diversity
from .oracle import OracleAccuracy
from .prior_cosine import PriorCosine
from .retrieval import Retrieval


@hookimpl
def unclip_register_components(register):
    register(FID)
    register(KID)
    register(ClipScore)
    register(Retrieval)
    register(PriorCosine)
    register(Diversity)
    register(OracleAccuracy)
