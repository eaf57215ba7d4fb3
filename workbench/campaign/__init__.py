"""Fault-injection campaigns (DESIGN section 7): a fault list sampled once from a seed, run on local
processes or a Dask cluster, one row per run in a polars table, saved as Parquet with a manifest.

campaign.py (`Campaign`: sampling, batches, resume), executors.py (inline, processes, Dask), worker.py
(one booted System per worker process), results.py (`CampaignResults`, the files), manifest.py
(configuration, seeds, versions, image hashes).
"""
from workbench.campaign.campaign import PAPERS_SIZES, Campaign  # noqa: F401
from workbench.campaign.results import OUTCOMES, CampaignResults, ResultsFileError  # noqa: F401
