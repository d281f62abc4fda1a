import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")
application = get_wsgi_application()

# Everything loaded so far (Django, the apps, their modules) lives as long as the process:
# move it out of the collector's generations, so a full collection scans only what requests
# create (shorter pauses at the tail; with a pre-forking server the pages also stay shared).
gc.freeze()
