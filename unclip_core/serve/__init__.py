"""`unclip serve`: a web page (Gradio) and an HTTP API over one set of loaded pipelines.

Installed with the optional extra `unclip[serve]`. Every operation, from the page or the API,
is described by a request model (requests.py), run through one bounded work queue
(work_queue.py) by Operations (operations.py), and answered with PNGs that carry the request
that made them (png_settings.py).
"""
