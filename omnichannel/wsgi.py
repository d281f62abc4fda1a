import os

from django.core.wsgi import get_wsgi_application

from omnichannel.runtime import tune_gc

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")
application = get_wsgi_application()
tune_gc()  # see omnichannel/runtime.py: shorter and rarer collector pauses at the tail
